import { env, exports } from "cloudflare:workers";
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { call, expectFieldError, expectProblem, login, loginOk, registerUser, uniqueEmail } from "./helpers";

// The wrangler vars of shop-users (workers/users/wrangler.toml).
const ISSUER = "https://users.edge-shop.internal";
const AUDIENCE = "edge-shop";

describe("POST /api/auth/login", () => {
  it("answers 200 with a Bearer token pair that is not cached", async () => {
    const { email, password } = await registerUser();

    const response = await login(email, password);

    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const body = await response.json();
    expect(body).toEqual({
      accessToken: expect.any(String),
      refreshToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      tokenType: "Bearer",
      expiresIn: 900,
    });
  });

  it("issues an ES256 at+jwt access token with the configured claims and a kid from the JWKS", async () => {
    const { user, email, password } = await registerUser();

    const { accessToken } = await loginOk(email, password);

    const header = decodeProtectedHeader(accessToken);
    expect(header).toEqual({ alg: "ES256", typ: "at+jwt", kid: expect.any(String) });
    const jwks = await exports.default.jwks();
    expect(jwks.keys.map((k) => k.kid)).toContain(header.kid);
    const claims = decodeJwt(accessToken);
    expect(claims).toEqual({
      iss: ISSUER,
      aud: AUDIENCE,
      sub: user.id,
      role: "customer",
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
      iat: expect.any(Number),
      exp: expect.any(Number),
    });
    expect((claims.exp as number) - (claims.iat as number)).toBe(900);
  });

  it("issues an access token that verifies against the JWKS with the algorithm, issuer, audience and type pinned", async () => {
    const { user, email, password } = await registerUser();
    const { accessToken } = await loginOk(email, password);

    const { payload } = await jwtVerify(accessToken, createLocalJWKSet(await exports.default.jwks()), {
      algorithms: ["ES256"],
      issuer: ISSUER,
      audience: AUDIENCE,
      typ: "at+jwt",
      requiredClaims: ["exp", "iat", "jti", "sub"],
    });

    expect(payload.sub).toBe(user.id);
  });

  it("gives every access token its own jti", async () => {
    const { email, password } = await registerUser();

    const first = await loginOk(email, password);
    const second = await loginOk(email, password);

    expect(decodeJwt(first.accessToken).jti).not.toBe(decodeJwt(second.accessToken).jti);
    expect(first.refreshToken).not.toBe(second.refreshToken);
  });

  it("carries the admin role in an admin's token", async () => {
    const { user, email, password } = await registerUser();
    await env.DB.prepare("UPDATE users SET role = 'admin' WHERE id = ?").bind(user.id).run();

    const { accessToken } = await loginOk(email, password);

    expect(decodeJwt(accessToken).role).toBe("admin");
  });

  it("accepts the email in any case", async () => {
    const { user, email, password } = await registerUser();

    const { accessToken } = await loginOk(`  ${email.toUpperCase()}  `, password);

    expect(decodeJwt(accessToken).sub).toBe(user.id);
  });

  it("stores only the hash of the refresh token, in a new family", async () => {
    const { user, email, password } = await registerUser();

    const { refreshToken } = await loginOk(email, password);

    const { results } = await env.DB.prepare("SELECT * FROM refresh_tokens WHERE user_id = ?")
      .bind(user.id)
      .all<{ token_hash: string; family_id: string; expires_at: number; created_at: number }>();
    expect(results).toHaveLength(1);
    const row = results[0];
    expect(row?.token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(results)).not.toContain(refreshToken);
    expect((row?.expires_at ?? 0) - (row?.created_at ?? 0)).toBe(2_592_000);
  });

  it("answers a wrong password and an unknown email with the same 401 problem, with WWW-Authenticate", async () => {
    const { email, password } = await registerUser();

    const wrongResponse = await login(email, `${password}!`);
    expect(wrongResponse.headers.get("www-authenticate")).toBe('Bearer realm="edge-shop"');
    const wrongPassword = await expectProblem(wrongResponse, 401, "login_failed");
    const unknownEmail = await expectProblem(await login(uniqueEmail("nobody"), password), 401, "login_failed");

    const { instance: _a, ...wrong } = wrongPassword;
    const { instance: _b, ...unknown } = unknownEmail;
    expect(unknown).toEqual(wrong);
    expect(Object.keys(wrong).sort()).toEqual(["code", "detail", "status", "title", "type"]);
    expect(wrongPassword.instance).not.toBe(unknownEmail.instance);
  });

  it("issues no refresh token for a refused login", async () => {
    const { user, email, password } = await registerUser();

    await login(email, `${password}!`);

    const count = await env.DB.prepare("SELECT COUNT(*) AS n FROM refresh_tokens WHERE user_id = ?")
      .bind(user.id)
      .first<{ n: number }>();
    expect(count?.n).toBe(0);
  });

  it("verifies a hash stored with another iteration count, using the stored count", async () => {
    // A hash made before the count was raised: the count stored with it must be used.
    const email = uniqueEmail("legacy");
    const password = "an older passphrase";
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, [
      "deriveBits",
    ]);
    const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations: 1_000 }, key, 256);
    const toBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
    const id = `usr_${"0".repeat(14)}${crypto.randomUUID().slice(-12)}`;
    const now = new Date().toISOString();
    await env.DB.prepare(
      `INSERT INTO users (id, email, name, phone, role, password_hash, password_salt, password_iterations, created_at, updated_at)
       VALUES (?, ?, 'Legacy', NULL, 'customer', ?, ?, 1000, ?, ?)`,
    )
      .bind(id, email, toBase64(new Uint8Array(bits)), toBase64(salt), now, now)
      .run();

    const { accessToken } = await loginOk(email, password);

    expect(decodeJwt(accessToken).sub).toBe(id);
    await expectProblem(await login(email, `${password}.`), 401, "login_failed");
  });

  it("refuses a login body with an unknown field", async () => {
    const { email, password } = await registerUser();

    const response = await call("/api/auth/login", { body: { email, password, role: "admin" } });

    await expectFieldError(response, "role");
  });
});
