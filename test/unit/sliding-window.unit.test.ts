import { describe, expect, it } from "vitest";
import { type BucketSpec, decide, maxWindowMs } from "#do/rate-limiter/sliding-window";

const NOW = 1_700_000_000_000;
const S = 1000;

function bucket(key: string, ...windows: [limit: number, windowSeconds: number][]): BucketSpec {
  return {
    name: key.split(":")[0] as string,
    key,
    windows: windows.map(([limit, windowSeconds]) => ({ limit, windowSeconds })),
  };
}

function hits(entries: Record<string, number[]>): Map<string, number[]> {
  return new Map(Object.entries(entries));
}

/** Evenly spaced hit times, ascending, ending `endAgoMs` before NOW. */
function spread(count: number, fromAgoMs: number, endAgoMs: number): number[] {
  if (count === 1) return [NOW - endAgoMs];
  const step = (fromAgoMs - endAgoMs) / (count - 1);
  return Array.from({ length: count }, (_, i) => Math.round(NOW - fromAgoMs + i * step));
}

describe("maxWindowMs", () => {
  it.each([
    { windows: [[100, 900]] as [number, number][], expected: 900_000 },
    {
      windows: [
        [600, 60],
        [20_000, 86_400],
      ] as [number, number][],
      expected: 86_400_000,
    },
    {
      windows: [
        [20_000, 86_400],
        [600, 60],
      ] as [number, number][],
      expected: 86_400_000,
    },
  ])("returns the longest window of $windows in milliseconds", ({ windows, expected }) => {
    expect(maxWindowMs(bucket("anon", ...windows))).toBe(expected);
  });
});

describe("decide with one bucket and one window", () => {
  const anon = bucket("anon", [3, 60]);

  it.each([
    { label: "no hits", log: [], allowed: true, remaining: 2, resetSeconds: 60 },
    { label: "one hit 30 s ago", log: [NOW - 30 * S], allowed: true, remaining: 1, resetSeconds: 30 },
    {
      label: "hits 50 s and 10 s ago",
      log: [NOW - 50 * S, NOW - 10 * S],
      allowed: true,
      remaining: 0,
      resetSeconds: 10,
    },
  ])(
    "admits below the limit ($label): remaining $remaining, reset $resetSeconds s",
    ({ log, allowed, remaining, resetSeconds }) => {
      expect(decide([anon], hits({ anon: log }), NOW)).toEqual({
        allowed,
        retryAfterSeconds: 0,
        buckets: [{ name: "anon", limit: 3, windowSeconds: 60, remaining, resetSeconds }],
      });
    },
  );

  it("refuses at the limit, reports remaining 0 and a Retry-After until the oldest hit leaves", () => {
    const log = [NOW - 45 * S, NOW - 20 * S, NOW - 5 * S];
    expect(decide([anon], hits({ anon: log }), NOW)).toEqual({
      allowed: false,
      retryAfterSeconds: 15,
      buckets: [{ name: "anon", limit: 3, windowSeconds: 60, remaining: 0, resetSeconds: 15 }],
    });
  });

  it("rounds Retry-After up to whole seconds and never below 1 s", () => {
    const almostGone = [NOW - 59_999, NOW - 20 * S, NOW - 5 * S];
    expect(decide([anon], hits({ anon: almostGone }), NOW).retryAfterSeconds).toBe(1);
    const halfSecond = [NOW - 44_500, NOW - 20 * S, NOW - 5 * S];
    expect(decide([anon], hits({ anon: halfSecond }), NOW).retryAfterSeconds).toBe(16);
  });

  it("a refusal adds nothing: deciding again on the same log gives the same refusal and remaining", () => {
    const log = [NOW - 45 * S, NOW - 20 * S, NOW - 5 * S];
    const first = decide([anon], hits({ anon: log }), NOW);
    expect(decide([anon], hits({ anon: log }), NOW)).toEqual(first);
    expect(first.buckets[0]?.remaining).toBe(0);
    // The refused request at NOW opened no window of its own: room returns when the oldest real hit leaves.
    expect(decide([anon], hits({ anon: log }), NOW + 15 * S).allowed).toBe(true);
  });

  it("never mutates the hit log it is given (the caller logs an admission)", () => {
    const log = [NOW - 20 * S];
    const decision = decide([anon], hits({ anon: log }), NOW);
    expect(decision.allowed).toBe(true);
    expect(log).toEqual([NOW - 20 * S]);
  });

  it("needs several hits to leave when the log holds more than the limit (the limit was lowered)", () => {
    const log = [NOW - 50 * S, NOW - 40 * S, NOW - 30 * S, NOW - 20 * S];
    // 4 live hits, limit 3: the two oldest must leave before one more fits; the second leaves in 20 s.
    expect(decide([anon], hits({ anon: log }), NOW)).toMatchObject({ allowed: false, retryAfterSeconds: 20 });
  });

  it("stops counting a hit exactly one window after it (the window is (now - W, now])", () => {
    const full = [NOW - 60 * S, NOW - 20 * S, NOW - 5 * S];
    expect(decide([anon], hits({ anon: full }), NOW)).toMatchObject({
      allowed: true,
      buckets: [{ remaining: 0, resetSeconds: 40 }],
    });
    const stillInside = [NOW - 60 * S + 1, NOW - 20 * S, NOW - 5 * S];
    expect(decide([anon], hits({ anon: stillInside }), NOW)).toMatchObject({ allowed: false, retryAfterSeconds: 1 });
  });

  it("ignores hits older than the window entirely", () => {
    const log = [NOW - 600 * S, NOW - 300 * S, NOW - 61 * S, NOW - 10 * S];
    expect(decide([anon], hits({ anon: log }), NOW)).toEqual({
      allowed: true,
      retryAfterSeconds: 0,
      buckets: [{ name: "anon", limit: 3, windowSeconds: 60, remaining: 1, resetSeconds: 50 }],
    });
  });

  it("treats a bucket with no log as empty", () => {
    expect(decide([anon], new Map(), NOW).buckets[0]).toEqual({
      name: "anon",
      limit: 3,
      windowSeconds: 60,
      remaining: 2,
      resetSeconds: 60,
    });
  });

  it("reads the log by the bucket key, not by the policy name", () => {
    const login = bucket("login:ann@example.com", [2, 900]);
    const decision = decide([login], hits({ login: [NOW - S, NOW - 2 * S] }), NOW);
    expect(decision.allowed).toBe(true);
    expect(decision.buckets[0]).toMatchObject({ name: "login", remaining: 1 });
  });
});

describe("decide with several windows in one bucket", () => {
  const user = bucket("user", [600, 60], [1000, 86_400]);

  it("refuses when the day window is full even though the minute window has room", () => {
    // 1000 hits over the last day, only 10 of them in the last minute; the oldest was 20 hours ago.
    const log = [...spread(990, 20 * 3600 * S, 3600 * S), ...spread(10, 50 * S, 5 * S)];
    const decision = decide([user], hits({ user: log }), NOW);
    expect(decision.allowed).toBe(false);
    expect(decision.retryAfterSeconds).toBe(4 * 3600);
    // The headers still describe the headline window, which has room.
    expect(decision.buckets).toEqual([
      { name: "user", limit: 600, windowSeconds: 60, remaining: 590, resetSeconds: 10 },
    ]);
  });

  it("admits when both windows have room and reports the headline window", () => {
    const log = [...spread(500, 20 * 3600 * S, 3600 * S), ...spread(10, 50 * S, 5 * S)];
    expect(decide([user], hits({ user: log }), NOW)).toEqual({
      allowed: true,
      retryAfterSeconds: 0,
      buckets: [{ name: "user", limit: 600, windowSeconds: 60, remaining: 589, resetSeconds: 10 }],
    });
  });

  it("refuses when the minute window is full, with Retry-After from the minute window", () => {
    const log = spread(600, 59 * S, 0);
    expect(decide([user], hits({ user: log }), NOW)).toMatchObject({ allowed: false, retryAfterSeconds: 1 });
  });

  it("takes the longest wait when several windows are full", () => {
    const tight = bucket("user", [2, 60], [3, 3600]);
    const log = [NOW - 1800 * S, NOW - 30 * S, NOW - 10 * S];
    // Minute window frees in 30 s, hour window in 1800 s: both must have room.
    expect(decide([tight], hits({ user: log }), NOW)).toMatchObject({ allowed: false, retryAfterSeconds: 1800 });
  });
});

describe("decide with several buckets at once", () => {
  const anon = bucket("anon", [100, 900]);
  const login = bucket("login:ann@example.com", [2, 900]);

  it("admits and counts in every bucket when every bucket has room", () => {
    const decision = decide(
      [anon, login],
      hits({ anon: [NOW - 100 * S], "login:ann@example.com": [NOW - 100 * S] }),
      NOW,
    );
    expect(decision).toEqual({
      allowed: true,
      retryAfterSeconds: 0,
      buckets: [
        { name: "anon", limit: 100, windowSeconds: 900, remaining: 98, resetSeconds: 800 },
        { name: "login", limit: 2, windowSeconds: 900, remaining: 0, resetSeconds: 800 },
      ],
    });
  });

  it("refuses when the login bucket is full and does not count the request in the anon bucket", () => {
    const log = hits({ anon: [NOW - 300 * S, NOW - 200 * S], "login:ann@example.com": [NOW - 300 * S, NOW - 200 * S] });
    expect(decide([anon, login], log, NOW)).toEqual({
      allowed: false,
      retryAfterSeconds: 600,
      buckets: [
        { name: "anon", limit: 100, windowSeconds: 900, remaining: 98, resetSeconds: 600 },
        { name: "login", limit: 2, windowSeconds: 900, remaining: 0, resetSeconds: 600 },
      ],
    });
  });

  it("refuses when the anon bucket is full and does not count the request in the login bucket", () => {
    const log = hits({ anon: spread(100, 800 * S, S), "login:ann@example.com": [] });
    expect(decide([anon, login], log, NOW)).toEqual({
      allowed: false,
      retryAfterSeconds: 100,
      buckets: [
        { name: "anon", limit: 100, windowSeconds: 900, remaining: 0, resetSeconds: 100 },
        { name: "login", limit: 2, windowSeconds: 900, remaining: 2, resetSeconds: 0 },
      ],
    });
  });
});

/** A small seeded generator (Numerical Recipes LCG) so the property runs are reproducible. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

/** How many of the ascending `times` fall in (end - windowMs, end]. */
function countIn(times: readonly number[], end: number, windowMs: number): number {
  return times.filter((t) => t > end - windowMs && t <= end).length;
}

describe("decide is exact (seeded random streams)", () => {
  const cases = [
    { seed: 1, windows: [[5, 10]] as [number, number][], meanGapMs: 700 },
    { seed: 2, windows: [[3, 1]] as [number, number][], meanGapMs: 120 },
    {
      seed: 3,
      windows: [
        [4, 5],
        [10, 60],
      ] as [number, number][],
      meanGapMs: 900,
    },
    {
      seed: 4,
      windows: [
        [20, 30],
        [50, 300],
      ] as [number, number][],
      meanGapMs: 400,
    },
  ];

  it.each(cases)(
    "seed $seed, windows $windows: never more than the limit in any window, and never refuses with room",
    ({ seed, windows, meanGapMs }) => {
      const random = lcg(seed);
      const spec = bucket("anon", ...windows);
      const admitted: number[] = [];
      let now = NOW;
      let refusals = 0;
      for (let i = 0; i < 3000; i++) {
        // Bursts (several requests in the same millisecond) and quiet spells both occur.
        now += random() < 0.2 ? 0 : Math.floor(random() * 2 * meanGapMs);
        const decision = decide([spec], hits({ anon: admitted }), now);
        const hasRoom = spec.windows.every((w) => countIn(admitted, now, w.windowSeconds * S) < w.limit);
        expect(decision.allowed).toBe(hasRoom);
        if (decision.allowed) {
          expect(decision.retryAfterSeconds).toBe(0);
          admitted.push(now);
        } else {
          refusals++;
          const retry = decision.retryAfterSeconds;
          expect(retry).toBeGreaterThanOrEqual(1);
          // Retry-After is tight: with no new admissions, one second earlier is still refused, then it is admitted.
          expect(decide([spec], hits({ anon: admitted }), now + retry * S).allowed).toBe(true);
          expect(decide([spec], hits({ anon: admitted }), now + (retry - 1) * S).allowed).toBe(false);
        }
        const headline = spec.windows[0] as { limit: number; windowSeconds: number };
        expect(decision.buckets[0]?.remaining).toBe(
          Math.max(0, headline.limit - countIn(admitted, now, headline.windowSeconds * S)),
        );
      }
      // The stream really exercised both paths.
      expect(refusals).toBeGreaterThan(100);
      expect(admitted.length).toBeGreaterThan(100);
      for (const w of spec.windows) {
        for (const end of admitted) expect(countIn(admitted, end, w.windowSeconds * S)).toBeLessThanOrEqual(w.limit);
      }
    },
  );

  it("stays exact across two buckets: each bucket's admissions respect its own limit", () => {
    const random = lcg(42);
    const anon = bucket("anon", [6, 10]);
    const login = bucket("login:ann@example.com", [3, 10]);
    const log = { anon: [] as number[], login: [] as number[] };
    let now = NOW;
    for (let i = 0; i < 2000; i++) {
      now += Math.floor(random() * 1500);
      const withLogin = random() < 0.5;
      const specs = withLogin ? [anon, login] : [anon];
      const decision = decide(specs, hits({ anon: log.anon, "login:ann@example.com": log.login }), now);
      const room = countIn(log.anon, now, 10 * S) < 6 && (!withLogin || countIn(log.login, now, 10 * S) < 3);
      expect(decision.allowed).toBe(room);
      if (decision.allowed) {
        log.anon.push(now);
        if (withLogin) log.login.push(now);
      }
    }
    for (const end of log.anon) expect(countIn(log.anon, end, 10 * S)).toBeLessThanOrEqual(6);
    for (const end of log.login) expect(countIn(log.login, end, 10 * S)).toBeLessThanOrEqual(3);
  });
});
