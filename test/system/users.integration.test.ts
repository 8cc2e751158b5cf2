import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, registerAndLogin, shopClient, type TestUser } from "./helpers";

// Through the typed client; the patches the contract forbids (empty, unknown field) stay raw.
const setRole = (admin: TestUser, id: string, role: "admin" | "customer") =>
  admin.shop.api.PUT("/api/users/{id}/role", { params: { path: { id } }, body: { role } });

describe("/api/users/me is the caller's id", () => {
  it("reads and changes the caller's own profile", async () => {
    const user = await registerAndLogin();
    const patched = await user.shop.api.PATCH("/api/users/me", { body: { name: "Me Myself" } });
    expect(patched.response.status).toBe(200);
    expect(patched.data).toMatchObject({ id: user.id, name: "Me Myself" });
    const read = await user.shop.api.GET("/api/users/me");
    expect(read.data).toMatchObject({ id: user.id, name: "Me Myself" });
  });

  it("refuses an empty or unknown patch with 400 and needs a token", async () => {
    const user = await registerAndLogin();
    const empty = await call("/api/users/me", { method: "PATCH", token: user.accessToken, json: {} });
    expect(empty.status).toBe(400);
    const role = await call("/api/users/me", { method: "PATCH", token: user.accessToken, json: { role: "admin" } });
    expect(role.status).toBe(400);
    const anonymous = await shopClient().api.PATCH("/api/users/me", { body: { name: "X" } });
    expect(anonymous.response.status).toBe(401);
    expect(anonymous.response.headers.get("www-authenticate")).toBe('Bearer realm="edge-shop"');
  });
});

describe("the last admin", () => {
  it("cannot be demoted (409 last_admin), and two admins demoting each other at once leave one", async () => {
    const first = await registerAndLogin({ role: "admin" });
    // System test files run one at a time: make `first` the only admin.
    await env.USERS_DB.prepare("UPDATE users SET role = 'customer' WHERE role = 'admin' AND id <> ?")
      .bind(first.id)
      .run();

    const self = await setRole(first, first.id, "customer");
    expect(self.response.status).toBe(409);
    expect(self.response.headers.get("content-type")).toBe("application/problem+json");
    expect(self.error?.code).toBe("last_admin");

    const second = await registerAndLogin({ role: "admin" });
    const answers = await Promise.all([setRole(first, second.id, "customer"), setRole(second, first.id, "customer")]);
    expect(answers.map((r) => r.response.status).sort()).toEqual([200, 409]);
    const admins = await env.USERS_DB.prepare("SELECT COUNT(*) AS n FROM users WHERE role = 'admin'").first<{
      n: number;
    }>();
    expect(admins?.n).toBe(1);
  });
});
