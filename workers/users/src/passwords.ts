/**
 * Password hashing: PBKDF2-SHA256 with a per-user 16-byte salt. 100,000 iterations is the most
 * Cloudflare accepts in production (local workerd accepts more, so a test pins this constant).
 * The count is stored with each hash so it can be raised later without breaking old hashes.
 * This module has no imports so the admin script can use it from Node as well.
 */
export const PBKDF2_ITERATIONS = 100_000;
const KEY_BITS = 256;

export interface PasswordHash {
  hash: string; // base64
  salt: string; // base64
  iterations: number;
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));
}

async function derive(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt: salt as BufferSource, iterations },
    key,
    KEY_BITS,
  );
  return new Uint8Array(bits);
}

export async function hashPassword(password: string, iterations = PBKDF2_ITERATIONS): Promise<PasswordHash> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  return { hash: toBase64(await derive(password, salt, iterations)), salt: toBase64(salt), iterations };
}

/** Compares in time that depends only on the length, never on where the bytes differ. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  const candidate = await derive(password, fromBase64(stored.salt), stored.iterations);
  return constantTimeEqual(candidate, fromBase64(stored.hash));
}

/**
 * A derivation with the same cost as a real check, for logins with an unknown email, so that the
 * response time does not reveal which emails exist.
 */
const DUMMY: PasswordHash = {
  hash: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
  salt: "AAAAAAAAAAAAAAAAAAAAAA==",
  iterations: PBKDF2_ITERATIONS,
};
export async function burnPasswordCheck(password: string): Promise<false> {
  await verifyPassword(password, DUMMY);
  return false;
}
