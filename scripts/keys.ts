/** ES256 signing keys for shop-users: generated here for dev and for a first deploy. */
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from "jose";

export async function generateSigningKey(): Promise<string> {
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y } as never);
  return JSON.stringify({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, d: jwk.d, kid });
}

/** The public half of a signing key, for JWT_PREVIOUS_PUBLIC_KEYS during a rotation. */
export function publicPart(signingKey: string): { kty: string; crv: string; x: string; y: string; kid: string } {
  const { kty, crv, x, y, kid } = JSON.parse(signingKey);
  return { kty, crv, x, y, kid };
}

if (import.meta.main) {
  // `node scripts/keys.ts`: prints a new private signing key (JWK JSON) for a manual rotation.
  console.log(await generateSigningKey());
}

/** A random provider API key (PSP_API_KEY): 32 bytes, base64url. */
export async function generateApiKey(): Promise<string> {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
}
