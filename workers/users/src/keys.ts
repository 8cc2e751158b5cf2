import { type CryptoKey, calculateJwkThumbprint, importJWK, type JWK } from "jose";
import * as z from "zod";
import type { Jwks, PublicJwk } from "#shared/contracts/users";

/**
 * Signing keys. JWT_SIGNING_KEY holds the current private ES256 JWK; JWT_PREVIOUS_PUBLIC_KEYS holds
 * the public halves of retired keys, published in the JWKS until every token they signed expired.
 */
const PrivateJwkSchema = z.object({
  kty: z.literal("EC"),
  crv: z.literal("P-256"),
  x: z.string(),
  y: z.string(),
  d: z.string(),
  kid: z.string().optional(),
});

const PublicJwkListSchema = z.array(
  z.object({ kty: z.literal("EC"), crv: z.literal("P-256"), x: z.string(), y: z.string(), kid: z.string().optional() }),
);

export interface SigningKey {
  kid: string;
  key: CryptoKey;
}

async function publicJwk(jwk: { x: string; y: string; kid?: string }): Promise<PublicJwk> {
  // Built field by field: the private `d` can never reach the JWKS.
  const base = { kty: "EC" as const, crv: "P-256" as const, x: jwk.x, y: jwk.y };
  const kid = jwk.kid ?? (await calculateJwkThumbprint(base));
  return { ...base, kid, alg: "ES256", use: "sig" };
}

// Imported once per isolate; keyed by the secret text so a rotated secret is picked up.
let cached: { source: string; signing: Promise<SigningKey> } | undefined;

export function loadSigningKey(secret: string | undefined): Promise<SigningKey> {
  if (!secret) throw new Error("JWT_SIGNING_KEY is not set");
  if (cached?.source !== secret) {
    const jwk = PrivateJwkSchema.parse(JSON.parse(secret));
    const signing = (async () => {
      const { kid } = await publicJwk(jwk);
      const key = (await importJWK({ ...jwk, alg: "ES256" } as JWK, "ES256")) as CryptoKey;
      return { kid, key };
    })();
    cached = { source: secret, signing };
  }
  return cached.signing;
}

// Built once per isolate and pair of secrets (a rotation changes the secrets, so the key).
let jwksCache: { source: string; jwks: Promise<Jwks> } | undefined;

/** The published JWKS: the current key's public half, then the retired keys' (by kid, once each). */
export function buildJwks(current: string | undefined, previous: string | undefined): Promise<Jwks> {
  const source = `${current}\u0000${previous}`;
  if (jwksCache?.source !== source) {
    const jwks = computeJwks(current, previous);
    jwksCache = { source, jwks };
    // A failed build is not kept: the next request tries again (and fails the same way if the secret is bad).
    jwks.catch(() => {
      if (jwksCache?.jwks === jwks) jwksCache = undefined;
    });
  }
  return jwksCache.jwks;
}

async function computeJwks(current: string | undefined, previous: string | undefined): Promise<Jwks> {
  if (!current) throw new Error("JWT_SIGNING_KEY is not set");
  const keys = [await publicJwk(PrivateJwkSchema.parse(JSON.parse(current)))];
  if (previous) {
    for (const jwk of PublicJwkListSchema.parse(JSON.parse(previous))) {
      const pub = await publicJwk(jwk);
      if (!keys.some((k) => k.kid === pub.kid)) keys.push(pub);
    }
  }
  return { keys };
}
