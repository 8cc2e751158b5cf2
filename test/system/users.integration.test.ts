import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, problemOf, registerAndLogin } from "./helpers";

const setRole = (token: string, id: string, role: string) =>
  call(`/api/users/${id}/role`, { method: "PUT", token, json: { role } });

describe("/api/users/me is the caller's id", () => {
  it("reads and changes the caller's own profile", async () => {
    const user = await registerAndLogin();
    const patched = await call("/api/users/me", {
      method: "PATCH",
      token: user.accessToken,
      json: { name: "Me Myself" },
    });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({ id: user.id, name: "Me Myself" });
    const read = await call("/api/users/me", { token: user.accessToken });
    expect(await read.json()).toMatchObject({ id: user.id, name: "Me Myself" });
  });

  it("refuses an empty or unknown patch with 400 and needs a token", async () => {
    const user = await registerAndLogin();
    const empty = await call("/api/users/me", { method: "PATCH", token: user.accessToken, json: {} });
    expect(empty.status).toBe(400);
    const role = await call("/api/users/me", { method: "PATCH", token: user.accessToken, json: { role: "admin" } });
    expect(role.status).toBe(400);
    const anonymous = await call("/api/users/me", { method: "PATCH", json: { name: "X" } });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toBe('Bearer realm="edge-shop"');
  });
});

describe("the last admin", () => {
  it("cannot be demoted (409 last_admin), and two admins demoting each other at once leave one", async () => {
    const first = await registerAndLogin({ role: "admin" });
    // System test files run one at a time: make `first` the only admin.
    await env.USERS_DB.prepare("UPDATE users SET role = 'customer' WHERE role = 'admin' AND id <> ?")
      .bind(first.id)
      .run();

    const self = await setRole(first.accessToken, first.id, "customer");
    expect(self.status).toBe(409);
    expect((await problemOf(self)).code).toBe("last_admin");

    const second = await registerAndLogin({ role: "admin" });
    const answers = await Promise.all([
      setRole(first.accessToken, second.id, "customer"),
      setRole(second.accessToken, first.id, "customer"),
    ]);
    expect(answers.map((r) => r.status).sort()).toEqual([200, 409]);
    const admins = await env.USERS_DB.prepare("SELECT COUNT(*) AS n FROM users WHERE role = 'admin'").first<{
      n: number;
    }>();
    expect(admins?.n).toBe(1);
  });
});
