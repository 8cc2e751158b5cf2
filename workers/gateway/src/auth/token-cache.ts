/**
 * Verified access tokens remembered per isolate, so a token seen again skips the signature check.
 * Bounded (least recently used goes first), and an entry never outlives the token's `exp` nor the
 * key set it was verified with: each entry records the key-set generation, and a new JWKS fetch
 * starts a new generation. Pure: the caller passes the clock and the generation.
 */
export interface TokenCache<V> {
  get(token: string, now: number, generation: number): V | undefined;
  set(token: string, value: V, expiresAt: number, generation: number): void;
  readonly size: number;
}

export function createTokenCache<V>(maxEntries: number): TokenCache<V> {
  if (!Number.isInteger(maxEntries) || maxEntries < 1)
    throw new Error("createTokenCache: maxEntries must be at least 1");
  // A Map iterates in insertion order: re-inserting on a hit keeps the least recently used first.
  const entries = new Map<string, { value: V; expiresAt: number; generation: number }>();
  return {
    get(token, now, generation) {
      const entry = entries.get(token);
      if (!entry) return undefined;
      entries.delete(token);
      if (entry.expiresAt <= now || entry.generation !== generation) return undefined;
      entries.set(token, entry);
      return entry.value;
    },
    set(token, value, expiresAt, generation) {
      entries.delete(token);
      entries.set(token, { value, expiresAt, generation });
      while (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
    },
    get size() {
      return entries.size;
    },
  };
}
