import { describe, expect, it } from "vitest";
import { applyFaultUpdate, drawFault, effectiveSpec, isEmptySpec } from "../../workers/psp-sim/src/faults";

/** Returns the given numbers in order, then fails: a test states every draw it expects. */
function sequence(...values: number[]): () => number {
  return () => {
    const next = values.shift();
    if (next === undefined) throw new Error("drew more random numbers than expected");
    return next;
  };
}

describe("effectiveSpec", () => {
  it("combines psp with psp:<endpoint>, field by field, the endpoint winning", () => {
    const faults = { psp: { errorRate: 0.5, latencyMs: 100 }, "psp:a": { errorRate: 1, declineRate: 0.2 } };
    expect(effectiveSpec(faults, "a")).toEqual({ errorRate: 1, latencyMs: 100, declineRate: 0.2 });
    expect(effectiveSpec(faults, "b")).toEqual({ errorRate: 0.5, latencyMs: 100 });
  });

  it("lets an endpoint override a global rate with an explicit zero", () => {
    const faults = { psp: { errorRate: 1 }, "psp:a": { errorRate: 0, latencyMs: 1 } };
    expect(effectiveSpec(faults, "a").errorRate).toBe(0);
  });

  it("is empty without faults", () => {
    expect(effectiveSpec({}, "a")).toEqual({});
  });
});

describe("applyFaultUpdate", () => {
  it("replaces the targets it names and keeps the others", () => {
    const current = { psp: { latencyMs: 5 }, "psp:a": { errorRate: 1, latencyMs: 9 } };
    expect(applyFaultUpdate(current, { "psp:a": { declineRate: 0.5 } })).toEqual({
      psp: { latencyMs: 5 },
      "psp:a": { declineRate: 0.5 },
    });
  });

  it("clears a target given {} or only zeros", () => {
    const current = { psp: { latencyMs: 5 }, "psp:a": { errorRate: 1 } };
    expect(applyFaultUpdate(current, { psp: {}, "psp:a": { errorRate: 0, timeoutRate: 0 } })).toEqual({});
  });

  it("does not change its input", () => {
    const current = { psp: { errorRate: 1 } };
    applyFaultUpdate(current, { psp: {} });
    expect(current).toEqual({ psp: { errorRate: 1 } });
  });

  it("knows an empty spec", () => {
    expect(isEmptySpec({})).toBe(true);
    expect(isEmptySpec({ errorRate: 0, latencyMs: 0 })).toBe(true);
    expect(isEmptySpec({ errorRate: 0, latencyMs: 1 })).toBe(false);
  });
});

describe("drawFault", () => {
  it("does nothing, and draws nothing, without faults", () => {
    expect(drawFault({}, "authorize", sequence())).toEqual({ latencyMs: 0, outcome: "ok" });
  });

  it("always adds the latency", () => {
    expect(drawFault({ latencyMs: 250 }, "other", sequence())).toEqual({ latencyMs: 250, outcome: "ok" });
  });

  it("checks timeout, then error, then decline, each with its own draw", () => {
    const spec = { timeoutRate: 0.1, errorRate: 0.2, declineRate: 0.3 };
    expect(drawFault(spec, "authorize", sequence(0.05)).outcome).toBe("timeout");
    expect(drawFault(spec, "authorize", sequence(0.5, 0.1)).outcome).toBe("error");
    expect(drawFault(spec, "authorize", sequence(0.5, 0.5, 0.2)).outcome).toBe("decline");
    expect(drawFault(spec, "authorize", sequence(0.5, 0.5, 0.9)).outcome).toBe("ok");
  });

  it("declines only authorisations", () => {
    expect(drawFault({ declineRate: 1 }, "other", sequence()).outcome).toBe("ok");
    expect(drawFault({ declineRate: 1 }, "authorize", sequence(0.999)).outcome).toBe("decline");
  });

  it("a rate of 1 always strikes and 0 never does", () => {
    expect(drawFault({ errorRate: 1 }, "other", sequence(0.999_999)).outcome).toBe("error");
    expect(drawFault({ errorRate: 0 }, "other", sequence()).outcome).toBe("ok");
  });

  it("strikes at about its rate over many draws", () => {
    let state = 12345;
    const lcg = () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 4294967296;
    };
    let errors = 0;
    for (let i = 0; i < 20_000; i++) if (drawFault({ errorRate: 0.25 }, "other", lcg).outcome === "error") errors++;
    expect(errors / 20_000).toBeGreaterThan(0.23);
    expect(errors / 20_000).toBeLessThan(0.27);
  });
});
