import { env } from "cloudflare:workers";
import { calculateJwkThumbprint, exportJWK, exportSPKI, generateKeyPair, importJWK, type JWK, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import {
  AUDIENCE,
  call,
  currentKey,
  expectStatus,
  ISSUER,
  previousKey,
  problemOf,
  registerAndLogin,
  shopClient,
  signToken,
} from "./helpers";

// Sign-up and sessions go through the typed client (`user.shop`, `shopClient()`). The attacks
// send forged or malformed credentials on purpose, so they stay raw requests (`call`).

const REALM = 'Bearer realm="edge-shop"';

function b64url(value: unknown): string {
  return btoa(JSON.stringify(value)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

async function attackerKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  return { ...(await exportJWK(privateKey)), alg: "ES256" };
}

async function expectInvalidToken(token: string): Promise<void> {
  const user = await registerAndLogin();
  // Sign the attack for a real user, so only the token's flaw can explain the refusal.
  const res = await call("/api/users/me", { headers: { authorization: `Bearer ${token.replace("SUB", user.id)}` } });
  expect(res.status).toBe(401);
  expect(res.headers.get("www-authenticate")).toMatch(/^Bearer realm="edge-shop", error="invalid_token"/);
  expect((await problemOf(res)).code).toBe("invalid_token");
}

describe("sign-up and sessions through the gateway", () => {
  it("registers, logs in and reads its own profile", async () => {
    const user = await registerAndLogin();
    const me = await user.shop.api.GET("/api/users/me");
    expect(me.response.status).toBe(200);
    expect(me.data).toMatchObject({ id: user.id, email: user.email, role: "customer" });
  });

  it("rotates refresh tokens and revokes the family when a used one comes back", async () => {
    const user = await registerAndLogin();
    const anyone = shopClient();
    const refresh = (refreshToken: string) => anyone.api.POST("/api/auth/refresh", { body: { refreshToken } });
    const first = await refresh(user.refreshToken);
    expect(first.response.status).toBe(200);
    const pair = expectStatus(first, 200);
    expect(pair.refreshToken).not.toBe(user.refreshToken);
    expect((await shopClient({ tokens: pair }).api.GET("/api/users/me")).response.status).toBe(200);

    const replay = await refresh(user.refreshToken);
    expect(replay.response.status).toBe(400);
    expect(replay.response.headers.get("content-type")).toBe("application/problem+json");
    expect(replay.error?.code).toBe("invalid_grant");
    // The reuse revoked the family: the newest token of the session is dead too.
    const afterReuse = await refresh(pair.refreshToken);
    expect(afterReuse.response.status).toBe(400);
  });

  it("answers every bad credential with the same problem", async () => {
    const user = await registerAndLogin();
    const login = async (email: string, password: string) => {
      const answer = await shopClient().api.POST("/api/auth/login", { body: { email, password } });
      expect(answer.response.headers.get("content-type")).toBe("application/problem+json");
      return answer.error as Record<string, unknown>;
    };
    const wrongPassword = await login(user.email, "not-the-password");
    const unknownEmail = await login("nobody@example.com", "not-the-password");
    // SPEC.md: 401 with one message for any bad credential (the caller had no session to lose).
    expect(wrongPassword.status).toBe(401);
    expect(wrongPassword.code).toBe("login_failed");
    const { instance: _a, ...a } = wrongPassword;
    const { instance: _b, ...b } = unknownEmail;
    expect(a).toEqual(b);
  });

  it("logs out: the refresh token of that session stops working", async () => {
    const user = await registerAndLogin();
    const out = await user.shop.api.POST("/api/auth/logout", { body: { refreshToken: user.refreshToken } });
    expect(out.response.status).toBe(204);
    const refresh = await shopClient().api.POST("/api/auth/refresh", { body: { refreshToken: user.refreshToken } });
    expect(refresh.response.status).toBe(400);
  });

  it("keeps tokens signed by the previous key valid during a rotation", async () => {
    const user = await registerAndLogin();
    const token = await signToken(previousKey(), { claims: { sub: user.id } });
    const res = await call("/api/users/me", { token });
    expect(res.status).toBe(200);
  });

  it("serves the JWKS with the current and previous public keys only", async () => {
    const res = await shopClient().api.GET("/.well-known/jwks.json");
    expect(res.response.status).toBe(200);
    const { keys } = res.data as { keys: Record<string, unknown>[] };
    expect(keys.map((k) => k.kid).sort()).toEqual([currentKey().kid, previousKey().kid].sort());
    for (const key of keys) {
      expect(key).not.toHaveProperty("d");
      expect(key).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
    }
  });
});

describe("access-token attacks", () => {
  const now = () => Math.floor(Date.now() / 1000);

  it("accepts a well-formed token (control)", async () => {
    const user = await registerAndLogin();
    const token = await signToken(currentKey(), { claims: { sub: user.id } });
    expect((await call("/api/users/me", { token })).status).toBe(200);
  });

  for (const alg of ["none", "None", "NONE", "nOnE"]) {
    it(`refuses alg "${alg}"`, async () => {
      const header = b64url({ alg, typ: "at+jwt", kid: currentKey().kid });
      const payload = b64url({
        iss: ISSUER,
        aud: AUDIENCE,
        sub: "SUB",
        role: "admin",
        iat: now(),
        exp: now() + 900,
        jti: "x",
      });
      await expectInvalidToken(`${header}.${payload}.`);
    });
  }

  it("refuses HS256 signed with the public key as the HMAC secret", async () => {
    const { d: _d, ...publicJwk } = currentKey();
    const pem = await exportSPKI(
      (await importJWK({ ...publicJwk, alg: "ES256" }, "ES256", { extractable: true })) as CryptoKey,
    );
    for (const secret of [pem, JSON.stringify(publicJwk)]) {
      const token = await new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: "SUB", role: "admin", jti: "x" })
        .setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid: publicJwk.kid as string })
        .setIssuedAt()
        .setExpirationTime("10m")
        .sign(new TextEncoder().encode(secret));
      await expectInvalidToken(token);
    }
  });

  it("refuses a foreign key that reuses our kid", async () => {
    const foreign = { ...(await attackerKey()), kid: currentKey().kid };
    await expectInvalidToken(await signToken(foreign, { claims: { sub: "SUB", role: "admin" } }));
  });

  it("refuses a token that embeds its own jwk, with or without a kid", async () => {
    const attacker = await attackerKey();
    const { d: _d, ...attackerPublic } = attacker;
    await expectInvalidToken(
      await signToken(attacker, { header: { jwk: attackerPublic as JWK }, claims: { sub: "SUB" } }),
    );
    const kid = await calculateJwkThumbprint(attackerPublic as JWK);
    await expectInvalidToken(
      await signToken({ ...attacker, kid }, { header: { jwk: attackerPublic as JWK }, claims: { sub: "SUB" } }),
    );
  });

  it("refuses jku and x5u headers even on a validly signed token", async () => {
    await expectInvalidToken(
      await signToken(currentKey(), { header: { jku: "https://evil.example/jwks.json" }, claims: { sub: "SUB" } }),
    );
    await expectInvalidToken(
      await signToken(currentKey(), {
        header: { x5u: "https://evil.example/cert.pem" } as never,
        claims: { sub: "SUB" },
      }),
    );
  });

  it("refuses a tampered payload", async () => {
    const token = await signToken(currentKey(), { claims: { sub: "SUB" } });
    const [header, payload, signature] = token.split(".") as [string, string, string];
    const claims = JSON.parse(atob(payload.replaceAll("-", "+").replaceAll("_", "/")));
    await expectInvalidToken(`${header}.${b64url({ ...claims, role: "admin" })}.${signature}`);
  });

  it("refuses expired tokens beyond 30 s of skew, and accepts them within it", async () => {
    await expectInvalidToken(
      await signToken(currentKey(), { claims: { sub: "SUB", iat: now() - 960, exp: now() - 60 } }),
    );
    const user = await registerAndLogin();
    const withinSkew = await signToken(currentKey(), { claims: { sub: user.id, iat: now() - 910, exp: now() - 10 } });
    expect((await call("/api/users/me", { token: withinSkew })).status).toBe(200);
  });

  it("refuses nbf in the future", async () => {
    await expectInvalidToken(await signToken(currentKey(), { claims: { sub: "SUB", nbf: now() + 600 } }));
  });

  it("refuses the wrong audience, issuer or type", async () => {
    await expectInvalidToken(await signToken(currentKey(), { claims: { sub: "SUB", aud: "someone-else" } }));
    await expectInvalidToken(await signToken(currentKey(), { claims: { sub: "SUB", iss: "https://evil.example" } }));
    await expectInvalidToken(await signToken(currentKey(), { header: { typ: "JWT" }, claims: { sub: "SUB" } }));
  });

  it("refuses tokens without exp, iat or jti", async () => {
    for (const claim of ["exp", "iat", "jti"]) {
      await expectInvalidToken(await signToken(currentKey(), { claims: { sub: "SUB" }, omit: [claim] }));
    }
  });

  it("refuses an unknown kid", async () => {
    const stranger = { ...(await attackerKey()), kid: "not-a-key-we-know" };
    await expectInvalidToken(await signToken(stranger, { claims: { sub: "SUB" } }));
  });

  it("refuses garbage", async () => {
    for (const garbage of ["garbage", "a.b.c", "eyJ.eyJ.", "...."]) await expectInvalidToken(garbage);
  });

  it("treats another scheme as no credentials (RFC 6750), and never reads a token from the query", async () => {
    const user = await registerAndLogin();
    const basic = await call("/api/users/me", { headers: { authorization: `Basic ${btoa("a:b")}` } });
    expect(basic.status).toBe(401);
    expect(basic.headers.get("www-authenticate")).toBe(REALM);
    const query = await call(`/api/users/me?access_token=${user.accessToken}`);
    expect(query.status).toBe(401);
    expect(query.headers.get("www-authenticate")).toBe(REALM);
  });

  it("refuses an Authorization header over 8 KB before parsing it", async () => {
    const res = await call("/api/users/me", { headers: { authorization: `Bearer ${"a".repeat(8200)}` } });
    expect(res.status).toBe(431);
    expect((await problemOf(res)).code).toBe("header_too_large");
  });

  it("stores no token anywhere but the hashed refresh tokens", async () => {
    const user = await registerAndLogin();
    const row = await env.USERS_DB.prepare("SELECT COUNT(*) AS n FROM refresh_tokens WHERE token_hash = ?")
      .bind(user.refreshToken)
      .first<{ n: number }>();
    expect(row?.n).toBe(0);
  });
});
