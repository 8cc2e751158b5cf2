import { describe, expect, it } from "vitest";
import {
  type BalancedEndpoint,
  Balancer,
  leastOutstanding,
  randomPick,
  roundRobin,
  STRATEGIES,
  weightedPick,
} from "../../workers/payments/src/balancer";

const ep = (name: string, weight = 1): BalancedEndpoint => ({ name, weight });
const AB = [ep("a"), ep("b")];
const ABC = [ep("a"), ep("b"), ep("c")];
const none = new Set<string>();

/** A small seeded generator (mulberry32), so distribution tests are exact and repeatable. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function draws(balancer: Balancer<BalancedEndpoint>, n: number, unavailable: Set<string> = none): string[] {
  return Array.from({ length: n }, () => balancer.pick(unavailable)?.name ?? "-");
}

function counts(names: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of names) out[name] = (out[name] ?? 0) + 1;
  return out;
}

describe("round robin", () => {
  it("really rotates: a, b, a, b (no randomness involved)", () => {
    const balancer = new Balancer("round_robin", AB, () => {
      throw new Error("round robin must not draw random numbers");
    });
    expect(draws(balancer, 6)).toEqual(["a", "b", "a", "b", "a", "b"]);
  });

  it("rotates over three: a, b, c, a", () => {
    expect(draws(new Balancer("round_robin", ABC), 4)).toEqual(["a", "b", "c", "a"]);
  });

  it("skips unavailable endpoints without skipping the others' turns", () => {
    const balancer = new Balancer("round_robin", ABC);
    expect(draws(balancer, 4, new Set(["b"]))).toEqual(["a", "c", "a", "c"]);
    // b back: the rotation continues from where it was.
    expect(draws(balancer, 3)).toEqual(["a", "b", "c"]);
  });

  it("answers undefined when every endpoint is unavailable, and does not move the cursor", () => {
    const balancer = new Balancer("round_robin", AB);
    expect(balancer.pick()?.name).toBe("a");
    expect(balancer.pick(new Set(["a", "b"]))).toBeUndefined();
    expect(balancer.pick()?.name).toBe("b");
  });

  it("is a pure function of the cursor", () => {
    expect(roundRobin(ABC, 0, none)).toEqual({ endpoint: ABC[0], cursor: 1 });
    expect(roundRobin(ABC, 2, none)).toEqual({ endpoint: ABC[2], cursor: 0 });
    expect(roundRobin(ABC, 2, new Set(["c"]))).toEqual({ endpoint: ABC[0], cursor: 1 });
    expect(roundRobin(ABC, 7, none)?.endpoint.name).toBe("b");
  });
});

describe("least outstanding", () => {
  it("picks the endpoint with the fewest calls in flight", () => {
    const inFlight = new Map([
      ["a", 3],
      ["b", 1],
      ["c", 2],
    ]);
    expect(leastOutstanding(ABC, inFlight, 0, none)?.endpoint.name).toBe("b");
    expect(leastOutstanding(ABC, inFlight, 0, new Set(["b"]))?.endpoint.name).toBe("c");
  });

  it("follows the balancer's own in-flight counts", () => {
    const balancer = new Balancer("least_outstanding", ABC);
    const endA = balancer.begin("a");
    balancer.begin("a");
    const endB = balancer.begin("b");
    expect(balancer.pick()?.name).toBe("c");
    balancer.begin("c");
    balancer.begin("c");
    expect(balancer.pick()?.name).toBe("b");
    endA();
    endA(); // ending twice counts once
    expect(balancer.outstanding("a")).toBe(1);
    endB();
    expect(balancer.pick()?.name).toBe("b");
  });

  it("breaks ties round robin instead of always choosing the first", () => {
    expect(draws(new Balancer("least_outstanding", ABC), 4)).toEqual(["a", "b", "c", "a"]);
  });

  it("skips unavailable endpoints even when they are idle", () => {
    const balancer = new Balancer("least_outstanding", AB);
    balancer.begin("b");
    expect(balancer.pick(new Set(["a"]))?.name).toBe("b");
    expect(balancer.pick(new Set(["a", "b"]))).toBeUndefined();
  });
});

describe("random", () => {
  it("is uniform over the available endpoints", () => {
    const picks = counts(draws(new Balancer("random", ABC, seeded(1)), 30_000));
    for (const name of ["a", "b", "c"]) expect(picks[name]).toBeGreaterThan(9_400);
  });

  it("never picks an unavailable endpoint", () => {
    const picks = counts(draws(new Balancer("random", ABC, seeded(2)), 1_000, new Set(["a"])));
    expect(picks.a).toBeUndefined();
    expect((picks.b ?? 0) + (picks.c ?? 0)).toBe(1_000);
  });

  it("stays in range at the top of random()", () => {
    expect(randomPick(AB, none, () => 0.999_999_999)?.name).toBe("b");
    expect(randomPick(AB, none, () => 0)?.name).toBe("a");
  });
});

describe("weighted", () => {
  it("follows the weights over many draws (a=3, b=1)", () => {
    const balancer = new Balancer("weighted", [ep("a", 3), ep("b", 1)], seeded(42));
    const picks = counts(draws(balancer, 40_000));
    const shareOfA = (picks.a ?? 0) / 40_000;
    expect(shareOfA).toBeGreaterThan(0.74);
    expect(shareOfA).toBeLessThan(0.76);
  });

  it("follows three weights (5:3:2)", () => {
    const balancer = new Balancer("weighted", [ep("a", 5), ep("b", 3), ep("c", 2)], seeded(7));
    const picks = counts(draws(balancer, 50_000));
    expect((picks.a ?? 0) / 50_000).toBeCloseTo(0.5, 1);
    expect((picks.b ?? 0) / 50_000).toBeCloseTo(0.3, 1);
    expect((picks.c ?? 0) / 50_000).toBeCloseTo(0.2, 1);
  });

  it("renormalises over the available endpoints", () => {
    const balancer = new Balancer("weighted", [ep("a", 3), ep("b", 1), ep("c", 1)], seeded(9));
    const picks = counts(draws(balancer, 20_000, new Set(["a"])));
    expect(picks.a).toBeUndefined();
    expect((picks.b ?? 0) / 20_000).toBeGreaterThan(0.47);
    expect((picks.b ?? 0) / 20_000).toBeLessThan(0.53);
  });

  it("gives a zero weight no share, unless nothing else is available", () => {
    const endpoints = [ep("a", 1), ep("b", 0)];
    const picks = counts(draws(new Balancer("weighted", endpoints, seeded(3)), 1_000));
    expect(picks).toEqual({ a: 1_000 });
    expect(weightedPick(endpoints, new Set(["a"]), seeded(4))?.name).toBe("b");
  });

  it("maps the draw onto the weights deterministically", () => {
    const endpoints = [ep("a", 3), ep("b", 1)];
    expect(weightedPick(endpoints, none, () => 0)?.name).toBe("a");
    expect(weightedPick(endpoints, none, () => 0.74)?.name).toBe("a");
    expect(weightedPick(endpoints, none, () => 0.76)?.name).toBe("b");
    expect(weightedPick(endpoints, none, () => 0.999_999_999)?.name).toBe("b");
  });
});

describe("every strategy", () => {
  it.each(STRATEGIES)("%s skips unavailable endpoints and answers undefined when none is left", (strategy) => {
    const balancer = new Balancer(strategy, ABC, seeded(11));
    for (let i = 0; i < 50; i++) expect(balancer.pick(new Set(["a", "c"]))?.name).toBe("b");
    expect(balancer.pick(new Set(["a", "b", "c"]))).toBeUndefined();
  });

  it("refuses an empty endpoint list", () => {
    expect(() => new Balancer("round_robin", [])).toThrow();
  });
});
