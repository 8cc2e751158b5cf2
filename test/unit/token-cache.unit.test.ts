import { describe, expect, it } from "vitest";
import { createTokenCache } from "../../workers/gateway/src/auth/token-cache";

const NOW = 1_900_000_000_000;

describe("createTokenCache", () => {
  it("refuses a size below 1", () => {
    expect(() => createTokenCache(0)).toThrow("maxEntries");
  });

  it("gives a remembered token back until its expiry, never at or after it", () => {
    const cache = createTokenCache<string>(10);
    cache.set("t", "alice", NOW + 1_000, 1);
    expect(cache.get("t", NOW, 1)).toBe("alice");
    expect(cache.get("t", NOW + 999, 1)).toBe("alice");
    expect(cache.get("t", NOW + 1_000, 1)).toBeUndefined();
    // An expired entry is dropped, not kept for later.
    expect(cache.size).toBe(0);
  });

  it("forgets a token remembered under another key-set generation", () => {
    const cache = createTokenCache<string>(10);
    cache.set("t", "alice", NOW + 60_000, 1);
    expect(cache.get("t", NOW, 2)).toBeUndefined();
    expect(cache.get("t", NOW, 1)).toBeUndefined();
  });

  it("holds at most its size, forgetting the least recently used first", () => {
    const cache = createTokenCache<number>(3);
    for (const n of [1, 2, 3]) cache.set(`t${n}`, n, NOW + 60_000, 1);
    expect(cache.get("t1", NOW, 1)).toBe(1); // t1 is now the most recently used
    cache.set("t4", 4, NOW + 60_000, 1);
    expect(cache.size).toBe(3);
    expect(cache.get("t2", NOW, 1)).toBeUndefined();
    expect([cache.get("t1", NOW, 1), cache.get("t3", NOW, 1), cache.get("t4", NOW, 1)]).toEqual([1, 3, 4]);
  });
});
