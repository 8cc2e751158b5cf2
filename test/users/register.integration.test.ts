import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  call,
  countUsersWithEmail,
  DEFAULT_PASSWORD,
  expectFieldError,
  expectProblem,
  registerUser,
  type User,
  uniqueEmail,
  userRow,
} from "./helpers";

describe("POST /api/auth/register", () => {
  it("creates a customer and answers 201 with the user shape and its location", async () => {
    const email = uniqueEmail("Mixed.Case").toUpperCase();
    const response = await call("/api/auth/register", {
      body: { email, password: DEFAULT_PASSWORD, name: "Ada Lovelace", phone: "+14155550123" },
    });

    expect(response.status).toBe(201);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    const user = (await response.json()) as User;
    expect(Object.keys(user).sort()).toEqual(["createdAt", "email", "id", "name", "phone", "role"]);
    expect(user).toEqual({
      id: expect.stringMatching(/^usr_[0-9a-hjkmnp-tv-z]{26}$/),
      email: email.toLowerCase(),
      name: "Ada Lovelace",
      phone: "+14155550123",
      role: "customer",
      createdAt: expect.any(String),
    });
    expect(new Date(user.createdAt).toISOString()).toBe(user.createdAt);
    expect(response.headers.get("location")).toBe(`/api/users/${user.id}`);
  });

  it("stores the email lowercased and a missing phone as null", async () => {
    const email = uniqueEmail().toUpperCase();
    const { user } = await registerUser({ email });

    expect(user.phone).toBeNull();
    const row = await userRow(user.id);
    expect(row).toMatchObject({ email: email.toLowerCase(), phone: null, role: "customer" });
  });

  it("answers 409 email_taken for an email that exists in another case, and writes nothing", async () => {
    const { email } = await registerUser();

    const response = await call("/api/auth/register", {
      body: { email: email.toUpperCase(), password: DEFAULT_PASSWORD, name: "Copycat" },
    });

    await expectProblem(response, 409, "email_taken");
    expect(await countUsersWithEmail(email)).toBe(1);
  });

  it("admits exactly one of two concurrent registrations of the same email", async () => {
    const email = uniqueEmail();
    const body = { email, password: DEFAULT_PASSWORD, name: "Twin" };

    const responses = await Promise.all([
      call("/api/auth/register", { body }),
      call("/api/auth/register", { body: { ...body, email: email.toUpperCase() } }),
    ]);

    expect(responses.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(await countUsersWithEmail(email)).toBe(1);
  });

  it("stores a PBKDF2 hash with 100,000 iterations and a per-user salt, never the password", async () => {
    const first = await registerUser();
    const second = await registerUser({ password: first.password });

    const row = await userRow(first.user.id);
    const other = await userRow(second.user.id);
    expect(row?.password_iterations).toBe(100_000);
    // 32-byte derived key and 16-byte salt, base64.
    expect(row?.password_hash).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(row?.password_salt).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    // Same password, different salt and hash: the salt is per user.
    expect(other?.password_salt).not.toBe(row?.password_salt);
    expect(other?.password_hash).not.toBe(row?.password_hash);
    const everyValue = JSON.stringify(row);
    expect(everyValue).not.toContain(first.password);
    expect(everyValue).not.toContain(btoa(first.password));
  });

  it("never returns password material in the response", async () => {
    const response = await call("/api/auth/register", {
      body: { email: uniqueEmail(), password: DEFAULT_PASSWORD, name: "Secretive" },
    });

    const text = await response.text();
    expect(response.status).toBe(201);
    expect(text).not.toMatch(/password|salt|hash|iterations/i);
    expect(text).not.toContain(DEFAULT_PASSWORD);
  });

  describe("refuses bad input with a 400 naming the field, and writes no user", () => {
    const cases: { name: string; field: string; body: (email: string) => Record<string, unknown> }[] = [
      {
        name: "a password of 11 characters",
        field: "password",
        body: (email) => ({ email, password: "a".repeat(11), name: "Short" }),
      },
      {
        name: "a password of 129 characters",
        field: "password",
        body: (email) => ({ email, password: "a".repeat(129), name: "Long" }),
      },
      {
        name: "an email that is not an email",
        field: "email",
        body: () => ({ email: "not-an-email", password: DEFAULT_PASSWORD, name: "Bad Email" }),
      },
      {
        name: "a phone number that is not E.164",
        field: "phone",
        body: (email) => ({ email, password: DEFAULT_PASSWORD, name: "Bad Phone", phone: "415-555-0123" }),
      },
      {
        name: "a blank name",
        field: "name",
        body: (email) => ({ email, password: DEFAULT_PASSWORD, name: "   " }),
      },
      {
        name: "a missing name",
        field: "name",
        body: (email) => ({ email, password: DEFAULT_PASSWORD }),
      },
      {
        name: "an unknown field (mass assignment of role)",
        field: "role",
        body: (email) => ({ email, password: DEFAULT_PASSWORD, name: "Sneaky", role: "admin" }),
      },
    ];

    for (const testCase of cases) {
      it(`refuses ${testCase.name}`, async () => {
        const email = uniqueEmail();
        const body = testCase.body(email);

        const response = await call("/api/auth/register", { body });

        await expectFieldError(response, testCase.field);
        expect(await countUsersWithEmail(email)).toBe(0);
      });
    }

    it("accepts the boundary lengths of 12 and 128 characters", async () => {
      const short = await call("/api/auth/register", {
        body: { email: uniqueEmail(), password: "p".repeat(12), name: "Twelve" },
      });
      const long = await call("/api/auth/register", {
        body: { email: uniqueEmail(), password: "p".repeat(128), name: "One Two Eight" },
      });

      expect(short.status).toBe(201);
      expect(long.status).toBe(201);
    });
  });

  it("does not let a mass-assigned role create an admin", async () => {
    const email = uniqueEmail();

    const response = await call("/api/auth/register", {
      body: { email, password: DEFAULT_PASSWORD, name: "Sneaky", role: "admin" },
    });

    expect(response.status).toBe(400);
    const admins = await env.DB.prepare("SELECT COUNT(*) AS n FROM users WHERE email = ? AND role = 'admin'")
      .bind(email)
      .first<{ n: number }>();
    expect(admins?.n).toBe(0);
  });

  it("answers 400 bad_request for malformed JSON", async () => {
    const email = uniqueEmail();

    const response = await call("/api/auth/register", {
      rawBody: `{"email": "${email}", "password": `,
      headers: { "content-type": "application/json" },
    });

    await expectProblem(response, 400, "bad_request");
    expect(await countUsersWithEmail(email)).toBe(0);
  });

  it("answers 415 for a body that is not sent as JSON", async () => {
    const email = uniqueEmail();

    const response = await call("/api/auth/register", {
      rawBody: JSON.stringify({ email, password: DEFAULT_PASSWORD, name: "Plain" }),
      headers: { "content-type": "text/plain" },
    });

    await expectProblem(response, 415, "unsupported_media_type");
    expect(await countUsersWithEmail(email)).toBe(0);
  });

  it("answers 415 for a body without a content type", async () => {
    const response = await call("/api/auth/register", {
      rawBody: JSON.stringify({ email: uniqueEmail(), password: DEFAULT_PASSWORD, name: "Untyped" }),
    });

    await expectProblem(response, 415, "unsupported_media_type");
  });

  it("accepts a JSON content type with parameters", async () => {
    const response = await call("/api/auth/register", {
      rawBody: JSON.stringify({ email: uniqueEmail(), password: DEFAULT_PASSWORD, name: "Charset" }),
      headers: { "content-type": "application/json; charset=utf-8" },
    });

    expect(response.status).toBe(201);
  });

  it("answers 400 for a JSON body that is not an object", async () => {
    const response = await call("/api/auth/register", { body: ["not", "an", "object"] });

    await expectProblem(response, 400, "validation_failed");
  });
});
