import { SignJWT } from "jose";
import { sha256Hex } from "#shared/hash";
import type { Role } from "#shared/identity";
import type { SigningKey } from "./keys";

export interface TokenConfig {
  issuer: string;
  audience: string;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
}

/** An ES256 access token (RFC 9068 profile: `typ: at+jwt`) with a `kid` and a unique `jti`. */
export async function signAccessToken(
  signing: SigningKey,
  config: TokenConfig,
  subject: { userId: string; role: Role },
  now = Math.floor(Date.now() / 1000),
): Promise<string> {
  return new SignJWT({ role: subject.role })
    .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: signing.kid })
    .setIssuer(config.issuer)
    .setAudience(config.audience)
    .setSubject(subject.userId)
    .setIssuedAt(now)
    .setExpirationTime(now + config.accessTtlSeconds)
    .setJti(crypto.randomUUID())
    .sign(signing.key);
}

/** Opaque refresh tokens: 32 random bytes, base64url. Only their SHA-256 is stored. */
export function newRefreshToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export function hashRefreshToken(token: string): Promise<string> {
  return sha256Hex(token);
}
