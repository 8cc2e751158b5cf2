import { exports } from "cloudflare:workers";
import { createLocalJWKSet, importJWK, jwtVerify, SignJWT } from "jose";
import { describe, expect, inject, it } from "vitest";
import { call } from "./helpers";

const keys = inject("keys");
const current = JSON.parse(keys.signingKey) as { kid: string; x: string; y: string };
const previous = JSON.parse(keys.previousSigningKey) as { kid: string; x: string; y: string };
const previousPublic = (JSON.parse(keys.previousPublicKeys) as { kid: string }[])[0];

function expectPublicKeysOnly(jwks: { keys: Record<string, unknown>[] }) {
  expect(jwks.keys).toHaveLength(2);
  for (const key of jwks.keys) {
    expect(Object.keys(key).sort()).toEqual(["alg", "crv", "kid", "kty", "use", "x", "y"]);
    expect(key).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
    expect(key).not.toHaveProperty("d");
  }
  expect(jwks.keys.map((k) => k.kid)).toEqual([current.kid, previousPublic?.kid]);
  expect(jwks.keys[0]).toMatchObject({ x: current.x, y: current.y });
  expect(jwks.keys[1]).toMatchObject({ x: previous.x, y: previous.y });
}

describe("JWKS", () => {
  it("uses two distinct test keys, so the assertions below can tell them apart", () => {
    expect(previousPublic?.kid).toBe(previous.kid);
    expect(previous.kid).not.toBe(current.kid);
  });

  it("jwks() over RPC lists the current key first, then the previous public key, never a private part", async () => {
    const jwks = await exports.default.jwks();

    expectPublicKeysOnly(jwks);
  });

  it("GET /.well-known/jwks.json serves the same keys as JSON, cacheable and without identity", async () => {
    const response = await call("/.well-known/jwks.json");

    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(response.headers.get("cache-control")).toBe("public, max-age=300");
    const jwks = (await response.json()) as { keys: Record<string, unknown>[] };
    expectPublicKeysOnly(jwks);
    expect(jwks).toEqual(await exports.default.jwks());
    expect(JSON.stringify(jwks)).not.toContain(JSON.parse(keys.signingKey).d);
  });

  it("a token signed with the previous key still verifies against the published JWKS", async () => {
    const jwks = createLocalJWKSet(await exports.default.jwks());
    const privateKey = await importJWK({ ...JSON.parse(keys.previousSigningKey), alg: "ES256" }, "ES256");
    const token = await new SignJWT({ role: "customer" })
      .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: previous.kid })
      .setSubject("usr_00000000000000000000000000")
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(privateKey);

    const { protectedHeader } = await jwtVerify(token, jwks, { algorithms: ["ES256"], typ: "at+jwt" });

    expect(protectedHeader.kid).toBe(previous.kid);
  });
});

describe("health()", () => {
  it("answers ok for shop-users after touching D1", async () => {
    expect(await exports.default.health()).toEqual({ status: "ok", service: "shop-users" });
  });
});
