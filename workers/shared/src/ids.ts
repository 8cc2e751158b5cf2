/** Prefixed, time-ordered ids (`usr_`, `prd_`, `ord_`, ...): 48 bits of milliseconds, 80 random bits. */
const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"; // Crockford base32, lowercase

export const ID_PREFIXES = ["usr", "rtk", "prd", "ord", "pay", "evt", "ntf"] as const;
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
