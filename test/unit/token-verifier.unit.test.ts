import {
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWK,
  type JWTHeaderParameters,
  SignJWT,
} from "jose";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createVerifier, type VerifierOptions } from "../../workers/gateway/src/auth/verifier";

const ISSUER = "https://api.edge-shop.dev";
const AUDIENCE = "edge-shop";
const USER_ID = "usr_01m875rg4c56rja44hr7x250pq";
const JWKS_URL = "https://shop-users.internal/.well-known/jwks.json";
const ATTACKER_JWKS_URL = "https://attacker.example/jwks.json";

interface TestKey {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** The public JWK as shop-users serves it. */
  jwk: JWK;
  kid: string;
}

async function makeKey(): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  const exported = await exportJWK(publicKey);
  const base = { kty: "EC", crv: "P-256", x: exported.x as string, y: exported.y as string };
  const kid = await calculateJwkThumbprint(base);
  return { privateKey, publicKey, jwk: { ...base, kid, alg: "ES256", use: "sig" }, kid };
}

let ours: TestKey;
let attacker: TestKey;

beforeAll(async () => {
  [ours, attacker] = await Promise.all([makeKey(), makeKey()]);
});

afterEach(() => {
  vi.useRealTimers();
});

const nowSeconds = () => Math.floor(Date.now() / 1000);
const b64url = (text: string | Uint8Array) =>
  Buffer.from(typeof text === "string" ? new TextEncoder().encode(text) : text).toString("base64url");
const jsonOf = (part: string) => JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as Record<string, unknown>;

/** The claims shop-users puts in an access token; `undefined` values are left out. */
function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = nowSeconds();
  const all: Record<string, unknown> = {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: USER_ID,
    role: "customer",
    iat: now,
    exp: now + 900,
    jti: crypto.randomUUID(),
    ...overrides,
  };
  return Object.fromEntries(Object.entries(all).filter(([, value]) => value !== undefined));
}

function sign(
  payload: Record<string, unknown> = claims(),
  header: Partial<JWTHeaderParameters> = {},
  key: CryptoKey = ours.privateKey,
): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: ours.kid, ...header }).sign(key);
}

/** A network of JWKS documents by URL; counts what the verifier asks for. */
function network(documents: Record<string, () => JWK[]> = { [JWKS_URL]: () => [ours.jwk] }) {
  const calls: string[] = [];
  const fetchJwks: VerifierOptions["fetchJwks"] = async (url) => {
    calls.push(url);
    const keys = documents[url];
    if (!keys) return new Response("not found", { status: 404 });
    return new Response(JSON.stringify({ keys: keys() }), { headers: { "content-type": "application/json" } });
  };
  return { calls, fetchJwks };
}

function verifier(fetchJwks = network().fetchJwks) {
  return createVerifier({ issuer: ISSUER, audience: AUDIENCE, fetchJwks });
}

const REFUSED = { ok: false, reason: expect.any(String) };
/** A refusal whose reason mentions `fragment`, so a test cannot pass for an unrelated reason. */
const refusedFor = (fragment: string) => ({ ok: false, reason: expect.stringContaining(fragment) });
const ALG_NOT_ALLOWED = '"alg" (Algorithm) Header Parameter value not allowed';
const BAD_SIGNATURE = "signature verification failed";

describe("createVerifier", () => {
  it("refuses to be created without an issuer or an audience", () => {
    const { fetchJwks } = network();
    expect(() => createVerifier({ issuer: "", audience: AUDIENCE, fetchJwks })).toThrow(
      "issuer and audience are required",
    );
    expect(() => createVerifier({ issuer: ISSUER, audience: "", fetchJwks })).toThrow(
      "issuer and audience are required",
    );
  });
});

describe("a well-formed access token", () => {
  it("is accepted and gives the identity from sub and role", async () => {
    expect(await verifier()(await sign())).toEqual({ ok: true, identity: { userId: USER_ID, role: "customer" } });
  });

  it("gives the admin role when the token says admin", async () => {
    expect(await verifier()(await sign(claims({ role: "admin" })))).toEqual({
      ok: true,
      identity: { userId: USER_ID, role: "admin" },
    });
  });

  it("is accepted when typ is written as the media type application/at+jwt (RFC 9068)", async () => {
    expect((await verifier()(await sign(claims(), { typ: "application/at+jwt" }))).ok).toBe(true);
  });
});

describe("algorithm attacks", () => {
  function unsigned(alg: string): string {
    const header = b64url(JSON.stringify({ alg, typ: "at+jwt", kid: ours.kid }));
    return `${header}.${b64url(JSON.stringify(claims({ role: "admin" })))}.`;
  }

  it.each(["none", "None", "NONE", "nOnE"])('refuses an unsigned token with alg "%s"', async (alg) => {
    expect(await verifier()(unsigned(alg))).toEqual(refusedFor(ALG_NOT_ALLOWED));
  });

  it("refuses HS256 signed with the public key (SPKI PEM) as the HMAC secret", async () => {
    const secret = new TextEncoder().encode(await exportSPKI(ours.publicKey));
    const token = await new SignJWT(claims({ role: "admin" }))
      .setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid: ours.kid })
      .sign(secret);
    expect(await verifier()(token)).toEqual(refusedFor(ALG_NOT_ALLOWED));
  });

  it("refuses HS256 signed with the public JWK's JSON as the HMAC secret", async () => {
    const secret = new TextEncoder().encode(JSON.stringify(ours.jwk));
    const token = await new SignJWT(claims({ role: "admin" }))
      .setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid: ours.kid })
      .sign(secret);
    expect(await verifier()(token)).toEqual(refusedFor(ALG_NOT_ALLOWED));
  });
});

describe("key attacks", () => {
  it("refuses a token signed by a foreign key that reuses our kid", async () => {
    expect(await verifier()(await sign(claims({ role: "admin" }), {}, attacker.privateKey))).toEqual(
      refusedFor(BAD_SIGNATURE),
    );
  });

  it("refuses a token whose header embeds the signer's own jwk, and never trusts that key", async () => {
    const { kid: _kid, alg: _alg, use: _use, ...embedded } = attacker.jwk;
    const token = await sign(claims({ role: "admin" }), { kid: attacker.kid, jwk: embedded }, attacker.privateKey);
    expect(await verifier()(token)).toEqual(refusedFor('"jwk"'));
  });

  it("refuses a token with a jku header and never fetches that URL", async () => {
    const net = network({ [JWKS_URL]: () => [ours.jwk], [ATTACKER_JWKS_URL]: () => [attacker.jwk] });
    const token = await sign(
      claims({ role: "admin" }),
      { kid: attacker.kid, jku: ATTACKER_JWKS_URL },
      attacker.privateKey,
    );
    expect(await verifier(net.fetchJwks)(token)).toEqual(refusedFor('"jku"'));
    expect(net.calls).not.toContain(ATTACKER_JWKS_URL);
  });

  it("refuses a token with an x5u header and never fetches that URL", async () => {
    const net = network({ [JWKS_URL]: () => [ours.jwk], [ATTACKER_JWKS_URL]: () => [attacker.jwk] });
    const token = await sign(claims(), { kid: attacker.kid, x5u: ATTACKER_JWKS_URL }, attacker.privateKey);
    expect(await verifier(net.fetchJwks)(token)).toEqual(refusedFor('"x5u"'));
    expect(net.calls).not.toContain(ATTACKER_JWKS_URL);
  });

  it("refuses a token with an x5c header even when it is otherwise valid", async () => {
    const token = await sign(claims(), { x5c: ["MIIBAA=="] });
    expect(await verifier()(token)).toEqual(refusedFor('"x5c"'));
  });

  it("refuses a token whose kid is not in our JWKS", async () => {
    const token = await sign(claims(), { kid: attacker.kid }, attacker.privateKey);
    expect(await verifier()(token)).toEqual(refusedFor("no applicable key"));
  });

  it("refuses a token with our kid when its payload was changed after signing (role raised to admin)", async () => {
    const [header, payload, signature] = (await sign()).split(".") as [string, string, string];
    const tampered = b64url(JSON.stringify({ ...jsonOf(payload), role: "admin" }));
    expect(await verifier()(`${header}.${tampered}.${signature}`)).toEqual(refusedFor(BAD_SIGNATURE));
  });

  it("refuses a token whose header was changed after signing", async () => {
    const [header, payload, signature] = (await sign()).split(".") as [string, string, string];
    const changed = b64url(JSON.stringify({ ...jsonOf(header), cty: "x" }));
    expect(await verifier()(`${changed}.${payload}.${signature}`)).toEqual(refusedFor(BAD_SIGNATURE));
  });
});

describe("claim checks", () => {
  const now = nowSeconds;

  it.each([
    {
      why: "it expired 10 minutes ago",
      reason: '"exp" claim timestamp check failed',
      payload: () => claims({ iat: now() - 1500, exp: now() - 600 }),
    },
    {
      why: "it is not valid for another 10 minutes (nbf)",
      reason: '"nbf" claim timestamp check failed',
      payload: () => claims({ nbf: now() + 600 }),
    },
    {
      why: "it was issued 2 minutes in the future",
      reason: '"iat" claim timestamp check failed',
      payload: () => claims({ iat: now() + 120, exp: now() + 1020 }),
    },
    {
      why: "it lives longer than 15 minutes",
      reason: "token lifetime too long",
      payload: () => claims({ exp: now() + 3600 }),
    },
    {
      why: "the audience is another service",
      reason: 'unexpected "aud" claim value',
      payload: () => claims({ aud: "someone-else" }),
    },
    {
      why: "the issuer is someone else",
      reason: 'unexpected "iss" claim value',
      payload: () => claims({ iss: "https://evil.example" }),
    },
    { why: "it has no exp", reason: 'missing required "exp" claim', payload: () => claims({ exp: undefined }) },
    { why: "it has no iat", reason: 'missing required "iat" claim', payload: () => claims({ iat: undefined }) },
    { why: "it has no jti", reason: 'missing required "jti" claim', payload: () => claims({ jti: undefined }) },
    { why: "it has no sub", reason: 'missing required "sub" claim', payload: () => claims({ sub: undefined }) },
    { why: "it has no iss", reason: 'missing required "iss" claim', payload: () => claims({ iss: undefined }) },
    { why: "it has no aud", reason: 'missing required "aud" claim', payload: () => claims({ aud: undefined }) },
    {
      why: "the role is superuser",
      reason: "token claims are not valid",
      payload: () => claims({ role: "superuser" }),
    },
    { why: "the role is missing", reason: "token claims are not valid", payload: () => claims({ role: undefined }) },
    {
      why: "the sub is not a user id",
      reason: "token claims are not valid",
      payload: () => claims({ sub: "prd_01m875rg4c56rja44hr7x250pq" }),
    },
    { why: "the sub is too short", reason: "token claims are not valid", payload: () => claims({ sub: "usr_123" }) },
  ])("refuses a token when $why", async ({ payload, reason }) => {
    expect(await verifier()(await sign(payload()))).toEqual(refusedFor(reason));
  });

  it.each(["JWT", "jwt", "at+jwt+x", "application/jwt"])('refuses typ "%s"', async (typ) => {
    expect(await verifier()(await sign(claims(), { typ }))).toEqual(refusedFor('unexpected "typ"'));
  });

  it("refuses a token without typ", async () => {
    const token = await new SignJWT(claims()).setProtectedHeader({ alg: "ES256", kid: ours.kid }).sign(ours.privateKey);
    expect(await verifier()(token)).toEqual(refusedFor('unexpected "typ"'));
  });

  it.each(["", "garbage", "a.b.c", "eyJhbGciOiJFUzI1NiJ9..", "x".repeat(5000)])(
    "refuses the malformed token %j",
    async (token) => {
      expect(await verifier()(token)).toEqual(REFUSED);
    },
  );
});

describe("clock skew of at most 30 s", () => {
  it("accepts a token that expired 20 s ago", async () => {
    const token = await sign(claims({ iat: nowSeconds() - 880, exp: nowSeconds() - 20 }));
    expect((await verifier()(token)).ok).toBe(true);
  });

  it("refuses a token that expired 40 s ago", async () => {
    const token = await sign(claims({ iat: nowSeconds() - 100, exp: nowSeconds() - 40 }));
    expect(await verifier()(token)).toEqual({ ok: false, reason: expect.stringContaining('"exp"') });
  });

  it("accepts a token whose nbf is 20 s ahead but refuses one 40 s ahead", async () => {
    const verify = verifier();
    expect((await verify(await sign(claims({ nbf: nowSeconds() + 20 })))).ok).toBe(true);
    expect(await verify(await sign(claims({ nbf: nowSeconds() + 40 })))).toEqual({
      ok: false,
      reason: expect.stringContaining('"nbf"'),
    });
  });
});

describe("the JWKS cache", () => {
  it("fetches the JWKS once, from the users service, for many verifications of a known kid", async () => {
    const net = network();
    const verify = verifier(net.fetchJwks);
    const results = await Promise.all(Array.from({ length: 10 }, async () => verify(await sign())));
    for (let i = 0; i < 10; i++) results.push(await verify(await sign()));
    expect(results.map((r) => r.ok)).toEqual(Array(20).fill(true));
    expect(net.calls).toEqual([JWKS_URL]);
  });

  it("refetches on an unknown kid at most once every 30 s (key rotation)", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const start = new Date("2030-01-01T00:00:00Z").getTime();
    vi.setSystemTime(start);
    let served = [ours.jwk];
    const net = network({ [JWKS_URL]: () => served });
    const verify = verifier(net.fetchJwks);

    expect((await verify(await sign())).ok).toBe(true);
    expect(net.calls).toHaveLength(1);

    // shop-users rotates to a new key right after our fetch: within the cooldown, no refetch.
    served = [ours.jwk, attacker.jwk];
    vi.setSystemTime(start + 5_000);
    const rotated = () => sign(claims(), { kid: attacker.kid }, attacker.privateKey);
    expect(await verify(await rotated())).toEqual(refusedFor("no applicable key"));
    expect(await verify(await rotated())).toEqual(refusedFor("no applicable key"));
    expect(net.calls).toHaveLength(1);

    // After 30 s an unknown kid triggers one refetch, and the new key is trusted.
    vi.setSystemTime(start + 31_000);
    expect((await verify(await rotated())).ok).toBe(true);
    expect((await verify(await rotated())).ok).toBe(true);
    expect(net.calls).toHaveLength(2);

    // A kid that is still unknown does not refetch again within the next 30 s.
    vi.setSystemTime(start + 40_000);
    const stranger = await makeKey();
    expect(await verify(await sign(claims(), { kid: stranger.kid }, stranger.privateKey))).toEqual(
      refusedFor("no applicable key"),
    );
    expect(net.calls).toHaveLength(2);
  });

  it("stops accepting a remembered token once a refetched key set no longer has its key", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const start = new Date("2030-01-01T00:00:00Z").getTime();
    vi.setSystemTime(start);
    let served = [ours.jwk];
    const net = network({ [JWKS_URL]: () => served });
    const verify = verifier(net.fetchJwks);
    const token = await sign();
    expect((await verify(token)).ok).toBe(true);
    expect((await verify(token)).ok).toBe(true);

    // shop-users retires our key; a token under the new kid makes the gateway refetch after 30 s.
    served = [attacker.jwk];
    vi.setSystemTime(start + 31_000);
    expect((await verify(await sign(claims(), { kid: attacker.kid }, attacker.privateKey))).ok).toBe(true);
    expect(net.calls).toHaveLength(2);
    expect(await verify(token)).toEqual(refusedFor("no applicable key"));
  });

  it("checks a remembered token against a refetched key set once the cached one is 10 minutes old", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const start = new Date("2030-01-01T00:00:00Z").getTime();
    vi.setSystemTime(start);
    const net = network();
    const verify = verifier(net.fetchJwks);
    const token = await sign();
    expect((await verify(token)).ok).toBe(true);
    vi.setSystemTime(start + 11 * 60_000);
    expect((await verify(token)).ok).toBe(true);
    expect(net.calls).toHaveLength(2);
  });

  it("refuses tokens, without throwing, when the JWKS cannot be fetched", async () => {
    const verify = verifier(async () => new Response("unavailable", { status: 503 }));
    expect(await verify(await sign())).toEqual(REFUSED);
  });
});
