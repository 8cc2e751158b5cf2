import { describe, expect, it } from "vitest";
import {
  acquire,
  type BreakerConfig,
  breakerConfig,
  DEFAULT_BREAKER_CONFIG,
  initialState,
  type MachineState,
  type Outcome,
  record,
  toBreaker,
} from "#do/circuit-breaker/machine";

const T0 = 1_700_000_000_000;
const CONFIG: BreakerConfig = { failureThreshold: 5, openMs: 60_000, probeLeaseMs: 10_000 };

function ids(prefix = "probe") {
  let n = 0;
  const next = () => `${prefix}-${++n}`;
  return Object.assign(next, { count: () => n });
}

const closed = (failures = 0): MachineState => ({ state: "closed", failures, lastTransitionAt: T0 });
const open = (openedAt = T0, failures = 5): MachineState => ({
  state: "open",
  failures,
  openedAt,
  lastTransitionAt: openedAt,
});
const halfOpen = (probeId = "p", expiresAt = T0 + 70_000): MachineState => ({
  state: "half_open",
  failures: 5,
  openedAt: T0,
  lastTransitionAt: T0 + 60_000,
  probe: { id: probeId, expiresAt },
});

describe("configuration", () => {
  it("documents its defaults: 5 failures, 60 s open, 10 s probe lease", () => {
    expect(DEFAULT_BREAKER_CONFIG).toEqual({ failureThreshold: 5, openMs: 60_000, probeLeaseMs: 10_000 });
    expect(breakerConfig({})).toEqual(DEFAULT_BREAKER_CONFIG);
    expect(breakerConfig({ BREAKER_FAILURE_THRESHOLD: " ", BREAKER_OPEN_MS: "" })).toEqual(DEFAULT_BREAKER_CONFIG);
  });

  it("reads the vars", () => {
    expect(
      breakerConfig({ BREAKER_FAILURE_THRESHOLD: "3", BREAKER_OPEN_MS: "0", BREAKER_PROBE_LEASE_MS: "250" }),
    ).toEqual({ failureThreshold: 3, openMs: 0, probeLeaseMs: 250 });
  });

  it.each([
    { vars: { BREAKER_FAILURE_THRESHOLD: "0" }, name: "BREAKER_FAILURE_THRESHOLD" },
    { vars: { BREAKER_FAILURE_THRESHOLD: "2.5" }, name: "BREAKER_FAILURE_THRESHOLD" },
    { vars: { BREAKER_FAILURE_THRESHOLD: "five" }, name: "BREAKER_FAILURE_THRESHOLD" },
    { vars: { BREAKER_OPEN_MS: "-1" }, name: "BREAKER_OPEN_MS" },
    { vars: { BREAKER_OPEN_MS: "60s" }, name: "BREAKER_OPEN_MS" },
    { vars: { BREAKER_PROBE_LEASE_MS: "0" }, name: "BREAKER_PROBE_LEASE_MS" },
    { vars: { BREAKER_PROBE_LEASE_MS: "1e400" }, name: "BREAKER_PROBE_LEASE_MS" },
  ])("refuses $vars", ({ vars, name }) => {
    expect(() => breakerConfig(vars)).toThrow(name);
  });
});

describe("closed", () => {
  it("starts closed with no failures", () => {
    expect(initialState(T0)).toEqual({ state: "closed", failures: 0, lastTransitionAt: T0 });
  });

  it("admits every call and changes nothing", () => {
    const state = closed(3);
    const next = ids();
    const result = acquire(state, T0 + 1, CONFIG, next);
    expect(result.admission).toEqual({ allowed: true, state: "closed" });
    expect(result.state).toBe(state);
    expect(next.count()).toBe(0);
  });

  it.each([
    { failures: 0, outcome: "failure", expected: { state: "closed", failures: 1, lastTransitionAt: T0 } },
    { failures: 3, outcome: "failure", expected: { state: "closed", failures: 4, lastTransitionAt: T0 } },
    {
      failures: 4,
      outcome: "failure",
      expected: { state: "open", failures: 5, openedAt: T0 + 9, lastTransitionAt: T0 + 9 },
    },
    { failures: 4, outcome: "success", expected: { state: "closed", failures: 0, lastTransitionAt: T0 } },
    { failures: 1, outcome: "success", expected: { state: "closed", failures: 0, lastTransitionAt: T0 } },
  ] as { failures: number; outcome: Outcome; expected: MachineState }[])(
    "with $failures failures, a $outcome gives $expected.state with $expected.failures",
    ({ failures, outcome, expected }) => {
      expect(record(closed(failures), outcome, undefined, T0 + 9, CONFIG)).toEqual(expected);
    },
  );

  it("returns the same state for a success with no failures (nothing to write)", () => {
    const state = closed(0);
    expect(record(state, "success", undefined, T0 + 1, CONFIG)).toBe(state);
  });

  it("opens at exactly the threshold of consecutive failures", () => {
    for (const threshold of [1, 2, 5, 7]) {
      const config = { ...CONFIG, failureThreshold: threshold };
      let state = initialState(T0);
      for (let i = 1; i < threshold; i++) {
        state = record(state, "failure", undefined, T0 + i, config);
        expect(state.state).toBe("closed");
      }
      state = record(state, "failure", undefined, T0 + threshold, config);
      expect(state).toEqual({
        state: "open",
        failures: threshold,
        openedAt: T0 + threshold,
        lastTransitionAt: T0 + threshold,
      });
    }
  });

  it("needs consecutive failures: a success in between starts the count again", () => {
    let state = initialState(T0);
    const sequence: Outcome[] = ["failure", "failure", "failure", "failure", "success", "failure", "failure"];
    for (const outcome of sequence) state = record(state, outcome, undefined, T0, CONFIG);
    expect(state).toEqual({ state: "closed", failures: 2, lastTransitionAt: T0 });
  });

  it("opens a breaker configured with a lower threshold than the failures it already has", () => {
    const state = record(closed(4), "failure", undefined, T0 + 1, { ...CONFIG, failureThreshold: 3 });
    expect(state.state).toBe("open");
  });
});

describe("open", () => {
  it.each([
    { after: 0, retryInMs: 60_000 },
    { after: 1, retryInMs: 59_999 },
    { after: 59_999, retryInMs: 1 },
  ])("refuses $after ms after opening, with retryInMs $retryInMs", ({ after, retryInMs }) => {
    const state = open();
    const next = ids();
    const result = acquire(state, T0 + after, CONFIG, next);
    expect(result.admission).toEqual({ allowed: false, state: "open", retryInMs });
    expect(result.state).toBe(state);
    expect(next.count()).toBe(0);
  });

  it.each([{ after: 60_000 }, { after: 60_001 }, { after: 3_600_000 }])(
    "hands out the probe $after ms after opening, moving to half_open",
    ({ after }) => {
      const now = T0 + after;
      const result = acquire(open(), now, CONFIG, ids());
      expect(result.admission).toEqual({ allowed: true, state: "half_open", probe: "probe-1" });
      expect(result.state).toEqual({
        state: "half_open",
        failures: 5,
        openedAt: T0,
        lastTransitionAt: now,
        probe: { id: "probe-1", expiresAt: now + CONFIG.probeLeaseMs },
      });
    },
  );

  it("probes at once when openMs is 0", () => {
    const state = record(closed(4), "failure", undefined, T0, { ...CONFIG, openMs: 0 });
    expect(acquire(state, T0, { ...CONFIG, openMs: 0 }, ids()).admission.allowed).toBe(true);
  });

  it.each(["success", "failure"] as Outcome[])(
    "ignores an ordinary call's %s (admitted before it opened)",
    (outcome) => {
      const state = open();
      expect(record(state, outcome, undefined, T0 + 5, CONFIG)).toBe(state);
    },
  );
});

describe("half_open", () => {
  it("gives the probe to exactly one of many simultaneous callers", () => {
    let state = open();
    const now = T0 + 60_000;
    const next = ids();
    const admissions = [];
    for (let i = 0; i < 25; i++) {
      const result = acquire(state, now, CONFIG, next);
      state = result.state;
      admissions.push(result.admission);
    }
    expect(admissions.filter((a) => a.allowed)).toEqual([{ allowed: true, state: "half_open", probe: "probe-1" }]);
    expect(admissions.filter((a) => !a.allowed)).toEqual(
      Array(24).fill({ allowed: false, state: "half_open", retryInMs: CONFIG.probeLeaseMs }),
    );
    expect(next.count()).toBe(1);
  });

  it.each([
    { at: T0 + 60_001, allowed: false, retryInMs: 9_999 },
    { at: T0 + 69_999, allowed: false, retryInMs: 1 },
  ])("refuses while the probe's lease runs (at +$at)", ({ at, retryInMs }) => {
    const state = halfOpen("p", T0 + 70_000);
    const result = acquire(state, at, CONFIG, ids());
    expect(result.admission).toEqual({ allowed: false, state: "half_open", retryInMs });
    expect(result.state).toBe(state);
  });

  it.each([{ at: T0 + 70_000 }, { at: T0 + 95_000 }])(
    "hands a new probe to the first caller once the lease expired (at $at)",
    ({ at }) => {
      const state = halfOpen("lost", T0 + 70_000);
      const result = acquire(state, at, CONFIG, ids("new"));
      expect(result.admission).toEqual({ allowed: true, state: "half_open", probe: "new-1" });
      expect(result.state).toEqual({ ...state, probe: { id: "new-1", expiresAt: at + CONFIG.probeLeaseMs } });
      // Still half-open: the lease changed, the state did not.
      expect(result.state.lastTransitionAt).toBe(state.lastTransitionAt);
      expect(acquire(result.state, at, CONFIG, ids()).admission.allowed).toBe(false);
    },
  );

  it("closes when the probe succeeds", () => {
    expect(record(halfOpen("p"), "success", "p", T0 + 61_000, CONFIG)).toEqual({
      state: "closed",
      failures: 0,
      lastTransitionAt: T0 + 61_000,
    });
  });

  it("reopens, for another full openMs, when the probe fails", () => {
    const now = T0 + 61_000;
    const reopened = record(halfOpen("p"), "failure", "p", now, CONFIG);
    expect(reopened).toEqual({ state: "open", failures: 6, openedAt: now, lastTransitionAt: now });
    expect(acquire(reopened, now + CONFIG.openMs - 1, CONFIG, ids()).admission).toEqual({
      allowed: false,
      state: "open",
      retryInMs: 1,
    });
    expect(acquire(reopened, now + CONFIG.openMs, CONFIG, ids()).admission.allowed).toBe(true);
  });

  it("accepts the probe's answer after its lease expired if no other probe was handed out", () => {
    const state = halfOpen("slow", T0 + 70_000);
    expect(record(state, "success", "slow", T0 + 80_000, CONFIG).state).toBe("closed");
  });

  it.each(["success", "failure"] as Outcome[])("ignores an ordinary call's %s: only the probe decides", (outcome) => {
    const state = halfOpen("p");
    expect(record(state, outcome, undefined, T0 + 61_000, CONFIG)).toBe(state);
  });
});

describe("stale and unknown probe ids change nothing", () => {
  it.each([
    { label: "closed", state: closed(2), probeId: "p" },
    { label: "open", state: open(), probeId: "p" },
    { label: "half_open, another probe's id", state: halfOpen("current"), probeId: "p" },
  ])("$label", ({ state, probeId }) => {
    for (const outcome of ["success", "failure"] as Outcome[]) {
      expect(record(state, outcome, probeId, T0 + 61_000, CONFIG)).toBe(state);
    }
  });

  it("a vanished probe that reports after its replacement neither closes nor reopens", () => {
    let state = acquire(open(), T0 + 60_000, CONFIG, () => "first").state;
    const replaced = acquire(state, T0 + 70_000, CONFIG, () => "second");
    expect(replaced.admission.probe).toBe("second");
    state = replaced.state;
    expect(record(state, "success", "first", T0 + 71_000, CONFIG)).toBe(state);
    expect(record(state, "failure", "first", T0 + 71_000, CONFIG)).toBe(state);
    const closedAgain = record(state, "success", "second", T0 + 71_000, CONFIG);
    expect(closedAgain.state).toBe("closed");
    // The replaced probe reporting a failure later cannot reopen what the new probe closed.
    expect(record(closedAgain, "failure", "first", T0 + 72_000, CONFIG)).toBe(closedAgain);
  });

  it("a probe that reports twice counts once", () => {
    const reopened = record(halfOpen("p"), "failure", "p", T0 + 61_000, CONFIG);
    expect(record(reopened, "failure", "p", T0 + 61_001, CONFIG)).toBe(reopened);
    expect(record(reopened, "success", "p", T0 + 61_001, CONFIG)).toBe(reopened);
  });
});

describe("toBreaker", () => {
  it("shows ISO timestamps and omits openedAt when closed", () => {
    expect(toBreaker("catalog", closed(2))).toEqual({
      name: "catalog",
      state: "closed",
      failures: 2,
      lastTransitionAt: new Date(T0).toISOString(),
    });
    expect(toBreaker("psp:a", halfOpen())).toEqual({
      name: "psp:a",
      state: "half_open",
      failures: 5,
      openedAt: new Date(T0).toISOString(),
      lastTransitionAt: new Date(T0 + 60_000).toISOString(),
    });
  });
});

describe("a long random run keeps the invariants", () => {
  it("never has two live probes, and every state has the fields it needs", () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const config: BreakerConfig = { failureThreshold: 3, openMs: 50, probeLeaseMs: 20 };
    let state = initialState(0);
    let now = 0;
    const issued: { id: string; expiresAt: number }[] = [];
    let n = 0;
    for (let step = 0; step < 20_000; step++) {
      now += Math.floor(random() * 8);
      const before = state;
      if (random() < 0.5) {
        const result = acquire(state, now, config, () => `p${++n}`);
        state = result.state;
        if (result.admission.probe) {
          // A probe is only handed out when no other probe's lease is still running.
          expect(issued.some((p) => p.expiresAt > now && state.probe?.id !== p.id)).toBe(false);
          issued.push({ id: result.admission.probe, expiresAt: now + config.probeLeaseMs });
        }
      } else {
        const outcome: Outcome = random() < 0.6 ? "failure" : "success";
        const useProbe = random() < 0.5 && issued.length > 0;
        const probeId = useProbe ? issued[Math.floor(random() * issued.length)]?.id : undefined;
        state = record(state, outcome, probeId, now, config);
      }
      if (state.state !== before.state) expect(state.lastTransitionAt).toBe(now);
      if (state.state === "closed") expect(state.probe === undefined && state.openedAt === undefined).toBe(true);
      if (state.state === "open") expect(state.probe === undefined && state.openedAt !== undefined).toBe(true);
      if (state.state === "half_open") expect(state.probe !== undefined && state.openedAt !== undefined).toBe(true);
      expect(state.failures).toBeGreaterThanOrEqual(0);
    }
  });
});
