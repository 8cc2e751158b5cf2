import { describe, expect, it } from "vitest";
import {
  type AlertConfig,
  type AlertRecord,
  alertConfig,
  evaluate,
  type Observation,
  type Signals,
  step,
} from "../../workers/alerts/src/rules";

const config: AlertConfig = alertConfig({
  ALERT_RULES: "saga_compensation_failed,dead_letters,breaker_open,error_rate,latency_p99,health_degraded",
  ALERT_EVALUATION_INTERVAL_MS: "60000",
  ALERT_REPEAT_INTERVAL_MS: "3600000",
  ALERT_FOR_MS: "300000",
  ALERT_ERROR_RATE_MAX: "0.05",
  ALERT_P99_MAX_MS: "2000",
  ALERT_MIN_REQUESTS: "20",
  ALERT_DEAD_LETTERS_MAX: "0",
  ALERT_RETRY_BASE_MS: "5000",
  ALERT_RESOLVED_KEEP_MS: "86400000",
});

const quiet: Signals = {
  compensationFailed: [],
  deadLetters: 0,
  breakers: [{ name: "psp:a", state: "closed", failures: 0, lastTransitionAt: "2026-12-01T00:00:00.000Z" }],
  requests: { count: 100, errorRate: 0, p99: 50 },
  health: { orders: "ok", events: "ok" },
};

const byId = (observations: Observation[]) => Object.fromEntries(observations.map((o) => [o.id, o.status]));
const MIN = 60_000;

/** Runs one alert through observations at the given minutes; returns each notification. */
function run(rule: Observation["rule"], timeline: [number, Observation["status"]][]) {
  let record: AlertRecord | null = null;
  const sent: [number, string][] = [];
  for (const [minute, status] of timeline) {
    const result = step(record, { id: rule, rule, status, summary: `at ${minute}` }, minute * MIN, config);
    record = result.record;
    if (result.notify) sent.push([minute, result.notify]);
  }
  return { record, sent };
}

describe("alert rules", () => {
  it("a quiet system observes every rule inactive", () => {
    expect(byId(evaluate(quiet, config))).toEqual({
      saga_compensation_failed: "inactive",
      dead_letters: "inactive",
      "breaker_open:psp:a": "inactive",
      error_rate: "inactive",
      latency_p99: "inactive",
      health_degraded: "inactive",
    });
  });

  it("each condition makes its rule active, and a failed source makes it unknown", () => {
    const bad: Signals = {
      compensationFailed: ["ord_1"],
      deadLetters: 3,
      breakers: [{ name: "psp:a", state: "half_open", failures: 5, lastTransitionAt: "2026-12-01T00:00:00.000Z" }],
      requests: { count: 100, errorRate: 0.2, p99: 2500 },
      health: { orders: "down", events: "ok" },
    };
    expect(Object.values(byId(evaluate(bad, config)))).toEqual(Array(6).fill("active"));
    const failed: Signals = { ...bad, compensationFailed: null, deadLetters: null, requests: null, health: null };
    expect(byId(evaluate(failed, config))).toMatchObject({
      saga_compensation_failed: "unknown",
      dead_letters: "unknown",
      error_rate: "unknown",
      latency_p99: "unknown",
      health_degraded: "unknown",
    });
  });

  it("too few requests say nothing about error rate or p99", () => {
    const few: Signals = { ...quiet, requests: { count: 19, errorRate: 1, p99: 60_000 } };
    expect(byId(evaluate(few, config))).toMatchObject({ error_rate: "inactive", latency_p99: "inactive" });
  });

  it("only the configured rules are evaluated", () => {
    const only = { ...config, ALERT_RULES: ["dead_letters" as const] };
    expect(evaluate({ ...quiet, deadLetters: 1 }, only).map((o) => o.id)).toEqual(["dead_letters"]);
    expect(() => alertConfig({ ...config, ALERT_RULES: "dead_letters,nonsense" })).toThrow();
  });
});

describe("the firing/repeat/resolve machine", () => {
  it("an immediate rule fires once, repeats every repeat interval, and resolves once", () => {
    const { record, sent } = run("dead_letters", [
      [0, "active"],
      [1, "active"],
      [59, "active"],
      [60, "active"],
      [61, "active"],
      [120, "active"],
      [121, "inactive"],
      [122, "inactive"],
    ]);
    expect(sent).toEqual([
      [0, "firing"],
      [60, "repeat"],
      [120, "repeat"],
      [121, "resolved"],
    ]);
    expect(record).toMatchObject({ state: "resolved", since: 0, resolvedAt: 121 * MIN });
  });

  it("a rule with `for` fires only once the condition held that long, and a blip never fires", () => {
    expect(
      run("error_rate", [
        [0, "active"],
        [2, "active"],
        [3, "inactive"],
        [4, "inactive"],
      ]).sent,
    ).toEqual([]);
    const held = run("error_rate", [
      [0, "active"],
      [4, "active"],
      [5, "active"],
      [6, "active"],
    ]);
    expect(held.sent).toEqual([[5, "firing"]]);
    expect(held.record).toMatchObject({ state: "firing", since: 0, lastNotifiedAt: 5 * MIN });
  });

  it("an unknown condition neither fires, resolves nor forgets", () => {
    const { record, sent } = run("health_degraded", [
      [0, "active"],
      [10, "unknown"],
      [20, "active"],
      [30, "unknown"],
    ]);
    expect(sent).toEqual([[20, "firing"]]);
    expect(record?.state).toBe("firing");
  });

  it("a resolved alert that comes back fires again, with a new since", () => {
    const { record, sent } = run("dead_letters", [
      [0, "active"],
      [1, "inactive"],
      [2, "active"],
    ]);
    expect(sent).toEqual([
      [0, "firing"],
      [1, "resolved"],
      [2, "firing"],
    ]);
    expect(record).toMatchObject({ state: "firing", since: 2 * MIN });
  });
});
