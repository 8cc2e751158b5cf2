import { describe, expect, it } from "vitest";
import { HitWindow } from "#do/rate-limiter/hit-window";
import { type BucketSpec, decide, maxWindowMs } from "#do/rate-limiter/sliding-window";

const NOW = 1_700_000_000_000;
const S = 1000;

/** A small deterministic generator, so a failure can be replayed. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

describe("HitWindow", () => {
  it("loads the live rows of a store (in any order) and counts the expired ones", () => {
    const { window, expired } = HitWindow.load(
      [
        { bucket: "anon", at: NOW - 5 * S, expiresAt: NOW + 55 * S },
        { bucket: "anon", at: NOW - 70 * S, expiresAt: NOW - 10 * S },
        { bucket: "anon", at: NOW - 30 * S, expiresAt: NOW + 30 * S },
        { bucket: "login:a", at: NOW - 90 * S, expiresAt: NOW },
      ],
      NOW,
    );
    expect(expired).toBe(2);
    expect(window.size).toBe(2);
    expect(window.count("anon", NOW - 60 * S)).toBe(2);
    expect(window.count("anon", NOW - 10 * S)).toBe(1);
    expect(window.nth("anon", NOW - 60 * S, 1)).toBe(NOW - 30 * S);
    expect(window.nth("anon", NOW - 60 * S, 2)).toBe(NOW - 5 * S);
    expect(window.count("login:a", 0)).toBe(0);
  });

  it("prunes hits at their expiry and reports how many stored rows went stale", () => {
    const window = new HitWindow();
    window.add("user", NOW, NOW + 60 * S);
    window.add("user", NOW + S, NOW + 61 * S);
    window.add("password", NOW, NOW + 900 * S);
    expect(window.prune(NOW + 59 * S)).toBe(0);
    expect(window.prune(NOW + 60 * S)).toBe(1);
    expect(window.size).toBe(2);
    expect(window.count("user", 0)).toBe(1);
    expect(window.prune(NOW + 900 * S)).toBe(2);
    expect(window.size).toBe(0);
  });

  it("keeps each bucket's hits in time order even when the clock steps back", () => {
    const window = new HitWindow();
    window.add("anon", NOW, NOW + 60 * S);
    window.add("anon", NOW - 2 * S, NOW + 58 * S);
    window.add("anon", NOW + S, NOW + 61 * S);
    expect([1, 2, 3].map((k) => window.nth("anon", 0, k))).toEqual([NOW - 2 * S, NOW, NOW + S]);
  });

  it("decides exactly as the log it mirrors, over a seeded random stream, reloaded now and then", () => {
    const random = lcg(7);
    const anon: BucketSpec = { name: "anon", key: "anon", windows: [{ limit: 5, windowSeconds: 10 }] };
    const login: BucketSpec = { name: "login", key: "login:a", windows: [{ limit: 2, windowSeconds: 30 }] };
    const stored: { bucket: string; at: number; expiresAt: number }[] = [];
    const all = new Map<string, number[]>([
      ["anon", []],
      ["login:a", []],
    ]);
    let window = new HitWindow();
    let now = NOW;
    let admitted = 0;
    for (let i = 0; i < 3000; i++) {
      now += Math.floor(random() * 2500);
      // Now and then the object is evicted: a fresh window over the same store.
      if (random() < 0.05) window = HitWindow.load(stored, now).window;
      window.prune(now);
      const specs = random() < 0.3 ? [anon, login] : [anon];
      const expected = decide(specs, all, now);
      const decision = decide(specs, window, now);
      expect(decision).toEqual(expected);
      if (decision.allowed) {
        admitted++;
        for (const spec of specs) {
          stored.push({ bucket: spec.key, at: now, expiresAt: now + maxWindowMs(spec) });
          all.get(spec.key)?.push(now);
          window.add(spec.key, now, now + maxWindowMs(spec));
        }
      }
    }
    expect(admitted).toBeGreaterThan(500);
    expect(admitted).toBeLessThan(3000);
  });
});
