import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  call,
  expectFieldError,
  expectProblem,
  loginOk,
  registerAdmin,
  registerUser,
  UNKNOWN_USER_ID,
  type User,
  uniqueEmail,
  userRow,
} from "./helpers";

describe("GET /api/users/me", () => {
  it("answers the caller's own profile", async () => {
    const { user, identity } = await registerUser({ phone: "+442071838750" });

    const response = await call("/api/users/me", { as: identity });

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(user);
  });

  it("needs an identity", async () => {
    await expectProblem(await call("/api/users/me"), 401, "unauthorized");
  });
});

describe("GET /api/users/:id", () => {
  it("answers the caller's own profile", async () => {
    const { user, identity } = await registerUser();

    const response = await call(`/api/users/${user.id}`, { as: identity });

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(user);
  });

  it("refuses another user's profile to a customer with 403", async () => {
    const owner = await registerUser();
    const other = await registerUser();

    const response = await call(`/api/users/${owner.user.id}`, { as: other.identity });

    const problem = await expectProblem(response, 403, "forbidden");
    expect(JSON.stringify(problem)).not.toContain(owner.email);
  });

  it("shows any profile to an admin", async () => {
    const { user } = await registerUser();
    const admin = await registerAdmin();

    const response = await call(`/api/users/${user.id}`, { as: admin.identity });

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(user);
  });

  it("answers 404 for an unknown user", async () => {
    const admin = await registerAdmin();

    await expectProblem(await call(`/api/users/${UNKNOWN_USER_ID}`, { as: admin.identity }), 404, "not_found");
  });

  it("answers 400 for a malformed user id", async () => {
    const { identity } = await registerUser();

    await expectProblem(await call("/api/users/not-a-user-id", { as: identity }), 400, "validation_failed");
    await expectProblem(await call("/api/users/usr_TOO-SHORT", { as: identity }), 400, "validation_failed");
  });

  it("needs an identity", async () => {
    const { user } = await registerUser();

    await expectProblem(await call(`/api/users/${user.id}`), 401, "unauthorized");
  });
});

function patch(id: string, body: unknown, as: { id: string; role: "customer" | "admin" }) {
  return call(`/api/users/${id}`, { method: "PATCH", body, as });
}

describe("PATCH /api/users/:id", () => {
  it("updates the caller's name and phone, answers the new profile and persists it", async () => {
    const { user, identity } = await registerUser();

    const response = await patch(user.id, { name: "  New Name  ", phone: "+33142685300" }, identity);

    expect(response.status).toBe(200);
    const expected = { ...user, name: "New Name", phone: "+33142685300" };
    expect(await response.json()).toEqual(expected);
    const me = await call("/api/users/me", { as: identity });
    expect(await me.json()).toEqual(expected);
    expect(await userRow(user.id)).toMatchObject({ name: "New Name", phone: "+33142685300" });
  });

  it("leaves the fields that are not in the patch alone", async () => {
    const { user, identity } = await registerUser({ name: "Keep Me", phone: "+14155550100" });

    const response = await patch(user.id, { name: "Changed" }, identity);

    expect(response.status).toBe(200);
    expect(await userRow(user.id)).toMatchObject({ name: "Changed", phone: "+14155550100", email: user.email });
  });

  it("clears the phone with null", async () => {
    const { user, identity } = await registerUser({ phone: "+14155550100" });

    const response = await patch(user.id, { phone: null }, identity);

    expect(response.status).toBe(200);
    expect(((await response.json()) as User).phone).toBeNull();
    expect((await userRow(user.id))?.phone).toBeNull();
  });

  it("changes the email, lowercased, and the new email logs in", async () => {
    const { user, identity, password } = await registerUser();
    const newEmail = uniqueEmail("Renamed");

    const response = await patch(user.id, { email: newEmail.toUpperCase() }, identity);

    expect(response.status).toBe(200);
    expect(((await response.json()) as User).email).toBe(newEmail.toLowerCase());
    expect((await userRow(user.id))?.email).toBe(newEmail.toLowerCase());
    await loginOk(newEmail, password);
  });

  it("accepts the caller's own email unchanged", async () => {
    const { user, identity } = await registerUser();

    const response = await patch(user.id, { email: user.email.toUpperCase() }, identity);

    expect(response.status).toBe(200);
    expect(((await response.json()) as User).email).toBe(user.email);
  });

  for (const field of ["role", "id", "createdAt", "password", "email_verified"] as const) {
    it(`refuses a patch with \`${field}\` with 400 and changes nothing`, async () => {
      const { user, identity } = await registerUser();
      const before = await userRow(user.id);
      const value = field === "role" ? "admin" : field === "id" ? UNKNOWN_USER_ID : "2000-01-01T00:00:00.000Z";

      const response = await patch(user.id, { name: "Sneaky", [field]: value }, identity);

      await expectFieldError(response, field);
      expect(await userRow(user.id)).toEqual(before);
    });
  }

  it("refuses an email that belongs to another user, in any case, with 409 and changes nothing", async () => {
    const { user, identity } = await registerUser();
    const other = await registerUser();
    const before = await userRow(user.id);

    const response = await patch(user.id, { email: other.email.toUpperCase(), name: "Thief" }, identity);

    await expectProblem(response, 409, "email_taken");
    expect(await userRow(user.id)).toEqual(before);
    expect((await userRow(other.user.id))?.email).toBe(other.email);
  });

  it("refuses an empty patch with 400", async () => {
    const { user, identity } = await registerUser();

    await expectProblem(await patch(user.id, {}, identity), 400, "validation_failed");
  });

  it("refuses a bad phone or email with 400 naming the field", async () => {
    const { user, identity } = await registerUser();
    const before = await userRow(user.id);

    await expectFieldError(await patch(user.id, { phone: "0044 20 7183 8750" }, identity), "phone");
    await expectFieldError(await patch(user.id, { email: "nope" }, identity), "email");
    await expectFieldError(await patch(user.id, { name: "" }, identity), "name");
    expect(await userRow(user.id)).toEqual(before);
  });

  it("refuses another user's profile to a customer with 403 and changes nothing", async () => {
    const owner = await registerUser();
    const other = await registerUser();
    const before = await userRow(owner.user.id);

    const response = await patch(owner.user.id, { name: "Hijacked" }, other.identity);

    await expectProblem(response, 403, "forbidden");
    expect(await userRow(owner.user.id)).toEqual(before);
  });

  it("lets an admin update another user's profile", async () => {
    const { user } = await registerUser();
    const admin = await registerAdmin();

    const response = await patch(user.id, { name: "Set By Admin" }, admin.identity);

    expect(response.status).toBe(200);
    expect((await userRow(user.id))?.name).toBe("Set By Admin");
  });

  it("answers 404 to an admin for an unknown user", async () => {
    const admin = await registerAdmin();

    await expectProblem(await patch(UNKNOWN_USER_ID, { name: "Ghost" }, admin.identity), 404, "not_found");
  });

  it("needs an identity", async () => {
    const { user } = await registerUser();

    const response = await call(`/api/users/${user.id}`, { method: "PATCH", body: { name: "Anonymous" } });

    await expectProblem(response, 401, "unauthorized");
  });
});

describe("PUT /api/users/:id/role", () => {
  function putRole(id: string, role: unknown, as?: { id: string; role: "customer" | "admin" }) {
    return call(`/api/users/${id}/role`, { method: "PUT", body: { role }, as });
  }

  it("refuses a customer with 403, even for their own account, and changes nothing", async () => {
    const { user, identity } = await registerUser();

    await expectProblem(await putRole(user.id, "admin", identity), 403, "insufficient_scope");

    expect((await userRow(user.id))?.role).toBe("customer");
  });

  it("lets an admin promote a customer, answering the updated user and storing the role", async () => {
    const { user } = await registerUser();
    const admin = await registerAdmin();

    const response = await putRole(user.id, "admin", admin.identity);

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ...user, role: "admin" });
    expect((await userRow(user.id))?.role).toBe("admin");
  });

  it("lets an admin demote an admin", async () => {
    const target = await registerAdmin();
    const admin = await registerAdmin();

    const response = await putRole(target.user.id, "customer", admin.identity);

    expect(response.status).toBe(200);
    expect((await userRow(target.user.id))?.role).toBe("customer");
  });

  it("refuses a role that is not customer or admin with 400 naming role", async () => {
    const { user } = await registerUser();
    const admin = await registerAdmin();

    await expectFieldError(await putRole(user.id, "superuser", admin.identity), "role");

    expect((await userRow(user.id))?.role).toBe("customer");
  });

  it("answers 404 for an unknown user", async () => {
    const admin = await registerAdmin();

    await expectProblem(await putRole(UNKNOWN_USER_ID, "admin", admin.identity), 404, "not_found");
    const count = await env.DB.prepare("SELECT COUNT(*) AS n FROM users WHERE id = ?")
      .bind(UNKNOWN_USER_ID)
      .first<{ n: number }>();
    expect(count?.n).toBe(0);
  });

  it("needs an identity", async () => {
    const { user } = await registerUser();

    await expectProblem(await putRole(user.id, "admin"), 401, "unauthorized");
  });
});
