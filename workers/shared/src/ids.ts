/** Prefixed, time-ordered ids (`usr_`, `prd_`, `ord_`, ...): 48 bits of milliseconds, 80 random bits. */
const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"; // Crockford base32, lowercase

export const ID_PREFIXES = ["usr", "rtk", "prd", "ord", "pay", "evt", "ntf", "dlt"] as const;
export type IdPrefix = (typeof ID_PREFIXES)[number];

export function newId(prefix: IdPrefix, now: number = Date.now()): string {
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const random = crypto.getRandomValues(new Uint8Array(16));
  let rest = "";
  for (const byte of random) rest += ALPHABET[byte % 32];
  return `${prefix}_${time}${rest}`;
}

export function isId(prefix: IdPrefix, value: string): boolean {
  return new RegExp(`^${prefix}_[0-9a-hjkmnp-tv-z]{26}$`).test(value);
}

/**
 * An id that is the same for the same key every time (a hash of it in the id's shape), for things
 * that must be written once whoever writes them, like the event a saga raises on its end.
 */
export async function derivedId(prefix: IdPrefix, key: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${prefix}:${key}`)));
  let body = "";
  for (const byte of digest.subarray(0, 26)) body += ALPHABET[byte % 32];
  return `${prefix}_${body}`;
}
