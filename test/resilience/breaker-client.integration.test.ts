import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { BreakerClient, type BreakerNamespace } from "#shared/breaker-client";
import { fail, ok, type Result } from "#shared/result";
import { OPEN_MS, sleep, THRESHOLD } from "./helpers";

/** The real CircuitBreaker namespace, counting the calls that reach the objects. */
function countingNamespace() {
  const counts = { acquire: 0, record: 0 };
  const namespace: BreakerNamespace = {
    getByName(name) {
      const stub = env.CIRCUIT_BREAKER.getByName(name);
      return {
        acquire: () => {
          counts.acquire += 1;
          return stub.acquire();
        },
        record: (outcome, probe) => {
          counts.record += 1;
          return stub.record(outcome, probe);
        },
      };
    },
  };
  return { counts, namespace };
}

/** A dependency call that counts how often it really ran. */
function dependency<T>(answer: () => Promise<Result<T>>) {
  const calls = { count: 0 };
  const fn = () => {
    calls.count += 1;
    return answer();
  };
  return { calls, fn };
}

const freshName = () => `client:${crypto.randomUUID()}`;
const snapshot = (name: string) => env.CIRCUIT_BREAKER.getByName(name).snapshot();

describe("BreakerClient against the real CircuitBreaker", () => {
  it("reuses a closed answer for up to a second, yet records every outcome", async () => {
    const { counts, namespace } = countingNamespace();
    let clock = 1_000_000;
    const client = new BreakerClient(() => namespace, { now: () => clock });
    const name = freshName();
    const { calls, fn } = dependency(async () => ok("fine"));

    const results = [];
    for (let i = 0; i < 10; i++) {
      results.push(await client.call(name, fn));
      clock += 99; // 10 calls within 1 s of the answer
    }

    expect(results.every((r) => r.ok && r.value === "fine")).toBe(true);
    expect(results.map((r) => r.trace)).toEqual(Array(10).fill({ breaker: "closed", called: true }));
    expect(calls.count).toBe(10);
    expect(counts.acquire).toBe(1);
    expect(counts.record).toBe(10);

    // After the second has passed, the object is asked again.
    clock += 20;
    await client.call(name, fn);
    expect(counts.acquire).toBe(2);
  });

  it("does not ask an open breaker again before it said to come back", async () => {
    const { counts, namespace } = countingNamespace();
    const client = new BreakerClient(() => namespace);
    const name = freshName();
    const down = dependency(async () => fail<string>("unavailable", "503"));
    for (let i = 0; i < THRESHOLD; i++) await client.call(name, down.fn);
    const before = counts.acquire;

    for (let i = 0; i < 5; i++) {
      expect((await client.call(name, down.fn)).trace).toEqual({ breaker: "open", called: false });
    }

    expect(counts.acquire).toBe(before + 1);
    expect(down.calls.count).toBe(THRESHOLD);
  });

  it("never caches a late closed answer over a newer open one", async () => {
    const acquires: ((admission: { allowed: true; state: "closed" }) => void)[] = [];
    let state: "closed" | "open" = "closed";
    const slow: BreakerNamespace = {
      getByName: () => ({
        acquire: () => new Promise((resolve) => acquires.push(resolve)),
        record: async (outcome) => {
          if (outcome === "failure") state = "open";
          return { name: "x", state, failures: 0, lastTransitionAt: new Date().toISOString() };
        },
      }),
    };
    const client = new BreakerClient(() => slow);
    let finishLate: (result: Result<string>) => void = () => {};
    const lateAnswer = new Promise<Result<string>>((resolve) => {
      finishLate = resolve;
    });
    const lateCall = client.call("x", () => lateAnswer);
    const earlyCall = client.call("x", async () => fail<string>("unavailable", "503"));
    await vi.waitFor(() => expect(acquires).toHaveLength(2));
    acquires[1]?.({ allowed: true, state: "closed" });
    await earlyCall; // its record said open
    acquires[0]?.({ allowed: true, state: "closed" }); // the late answer, older than that news
    await sleep(10); // the late call is admitted and now waits on its dependency

    // While the late call is still out, a new call must ask the object, not reuse the late "closed".
    const next = client.call("x", async () => ok("x"));
    await vi.waitFor(() => expect(acquires).toHaveLength(3));
    acquires[2]?.({ allowed: true, state: "closed" });
    finishLate(ok("late"));
    await Promise.all([lateCall, next]);
  });

  it("does not count business failures toward opening", async () => {
    const { namespace } = countingNamespace();
    const client = new BreakerClient(() => namespace);
    const name = freshName();
    const declined = dependency(async () => fail<string>("payment_declined", "card declined"));

    for (let i = 0; i < THRESHOLD * 2; i++) {
      const result = await client.call(name, declined.fn);
      expect(result).toMatchObject({ ok: false, code: "payment_declined", trace: { called: true } });
    }

    expect(declined.calls.count).toBe(THRESHOLD * 2);
    expect(await snapshot(name)).toMatchObject({ state: "closed", failures: 0 });
  });

  it("lets a business answer break a run of transient failures", async () => {
    const client = new BreakerClient(() => countingNamespace().namespace);
    const name = freshName();
    const flaky = dependency(async () => fail<string>("timeout", "no answer"));
    const declined = dependency(async () => fail<string>("payment_declined", "card declined"));

    for (let i = 0; i < THRESHOLD - 1; i++) await client.call(name, flaky.fn);
    await client.call(name, declined.fn);
    for (let i = 0; i < THRESHOLD - 1; i++) await client.call(name, flaky.fn);

    expect(await snapshot(name)).toMatchObject({ state: "closed", failures: THRESHOLD - 1 });
  });

  it("opens after 5 transient failures; the 6th call is refused without calling the dependency", async () => {
    const { counts, namespace } = countingNamespace();
    const client = new BreakerClient(() => namespace);
    const name = freshName();
    const down = dependency(async () => fail<string>("unavailable", "503 from upstream"));

    for (let i = 0; i < THRESHOLD; i++) {
      expect(await client.call(name, down.fn)).toMatchObject({
        ok: false,
        code: "unavailable",
        trace: { called: true },
      });
    }
    const acquiresBefore = counts.acquire;
    const sixth = await client.call(name, down.fn);

    expect(sixth).toMatchObject({ ok: false, code: "unavailable", trace: { breaker: "open", called: false } });
    expect(down.calls.count).toBe(THRESHOLD);
    // The cached closed answer was dropped when the record said open: the object was asked.
    expect(counts.acquire).toBe(acquiresBefore + 1);
    expect(await snapshot(name)).toMatchObject({ state: "open", failures: THRESHOLD });
  });

  it("counts a thrown error as a transient failure", async () => {
    const client = new BreakerClient(() => countingNamespace().namespace);
    const name = freshName();
    const broken = dependency<string>(() => Promise.reject(new Error("connection reset")));

    for (let i = 0; i < THRESHOLD; i++) {
      const result = await client.call(name, broken.fn);
      expect(result).toMatchObject({ ok: false, code: "unavailable", trace: { called: true } });
    }

    expect(await snapshot(name)).toMatchObject({ state: "open", failures: THRESHOLD });
    expect((await client.call(name, broken.fn)).trace).toEqual({ breaker: "open", called: false });
    expect(broken.calls.count).toBe(THRESHOLD);
  });

  it("sends exactly one of many concurrent callers as the probe, and closes on its success", async () => {
    // The namespace binding itself, as the calling Workers pass it.
    const client = new BreakerClient(() => env.CIRCUIT_BREAKER);
    const name = freshName();
    const down = dependency(async () => fail<string>("bad_gateway", "502"));
    for (let i = 0; i < THRESHOLD; i++) await client.call(name, down.fn);
    await sleep(OPEN_MS + 30);
    const healed = dependency(async () => {
      await sleep(20); // the probe is out while the others arrive
      return ok("back");
    });

    const results = await Promise.all(Array.from({ length: 20 }, () => client.call(name, healed.fn)));

    expect(healed.calls.count).toBe(1);
    expect(results.filter((r) => r.trace.called)).toEqual([
      { ok: true, value: "back", trace: { breaker: "half_open", called: true } },
    ]);
    expect(await snapshot(name)).toMatchObject({ state: "closed", failures: 0 });
    expect(await client.call(name, healed.fn)).toMatchObject({ ok: true, trace: { breaker: "closed", called: true } });
  });

  it("reopens when the probe's call fails transiently", async () => {
    const client = new BreakerClient(() => countingNamespace().namespace);
    const name = freshName();
    const down = dependency(async () => fail<string>("timeout", "still down"));
    for (let i = 0; i < THRESHOLD; i++) await client.call(name, down.fn);
    await sleep(OPEN_MS + 30);

    const probe = await client.call(name, down.fn);

    expect(probe.trace).toEqual({ breaker: "half_open", called: true });
    expect(await snapshot(name)).toMatchObject({ state: "open", failures: THRESHOLD + 1 });
    expect((await client.call(name, down.fn)).trace).toEqual({ breaker: "open", called: false });
  });

  it("calls the dependency when the breaker itself cannot be reached", async () => {
    const unreachable: BreakerNamespace = {
      getByName: () => ({
        acquire: () => Promise.reject(new Error("breaker down")),
        record: () => Promise.reject(new Error("breaker down")),
      }),
    };
    const client = new BreakerClient(() => unreachable);
    const up = dependency(async () => ok(1));

    expect(await client.call(freshName(), up.fn)).toEqual({
      ok: true,
      value: 1,
      trace: { breaker: "closed", called: true },
    });
    expect(up.calls.count).toBe(1);
  });
});
