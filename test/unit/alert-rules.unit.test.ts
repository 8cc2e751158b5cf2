import { describe, expect, it } from "vitest";
import {
  type AlertConfig,
  type AlertRecord,
  alertConfig,
  evaluate,
  type MinuteStats,
  type Observation,
  type Signals,
  step,
  sustained,
} from "../../workers/alerts/src/rules";

const config: AlertConfig = alertConfig({
  ALERT_RULES: "saga_compensation_failed,dead_letters,breaker_open,outbox_stale,error_rate,latency_p99,health_degraded",
  ALERT_EVALUATION_INTERVAL_MS: "60000",
  ALERT_REPEAT_INTERVAL_MS: "3600000",
  ALERT_FOR_MS: "300000",
  ALERT_ERROR_RATE_MAX: "0.05",
  ALERT_P99_MAX_MS: "2000",
  ALERT_SUSTAINED_MINUTES: "5",
  ALERT_MIN_REQUESTS: "20",
  ALERT_OUTBOX_AGE_MAX_MS: "300000",
  ALERT_DEAD_LETTERS_MAX: "0",
  ALERT_RETRY_BASE_MS: "5000",
  ALERT_RESOLVED_KEEP_MS: "86400000",
});

const MIN = 60_000;
/** 12:30:20, twenty seconds into a minute. */
const NOW = Date.parse("2026-12-01T12:30:20Z");
const minuteStart = (ago: number) => Math.floor(NOW / MIN) * MIN - ago * MIN;

/** Request stats for the minutes `ago` before the current one (1 = the last whole minute). */
function minutes(...stats: [ago: number, count: number, errors: number, p99: number][]): MinuteStats[] {
  return stats.map(([ago, count, errors, p99]) => ({ at: minuteStart(ago), count, errors, p99 }));
}
/** The last `n` whole minutes each with the same stats, and the current partial minute. */
const steady = (count: number, errors: number, p99: number, n = 5) =>
  minutes(...Array.from({ length: n + 1 }, (_, i) => [i, count, errors, p99] as [number, number, number, number]));

const quiet: Signals = {
  now: NOW,
  compensationFailed: [],
  deadLetters: 0,
  breakers: [{ name: "psp:a", state: "closed", failures: 0, lastTransitionAt: "2026-12-01T00:00:00.000Z" }],
  requests: steady(20, 0, 50),
  outboxes: { "shop-orders": { pending: 0, oldestCreatedAt: null } },
  health: { orders: "ok", events: "ok" },
};

const byId = (observations: Observation[]) => Object.fromEntries(observations.map((o) => [o.id, o.status]));

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
      "outbox_stale:shop-orders": "inactive",
      error_rate: "inactive",
      latency_p99: "inactive",
      health_degraded: "inactive",
    });
  });

  it("each condition makes its rule active, and a failed source makes it unknown", () => {
    const bad: Signals = {
      now: NOW,
      compensationFailed: ["ord_1"],
      deadLetters: 3,
      breakers: [{ name: "psp:a", state: "half_open", failures: 5, lastTransitionAt: "2026-12-01T00:00:00.000Z" }],
      requests: steady(20, 4, 2500),
      outboxes: { "shop-orders": { pending: 2, oldestCreatedAt: NOW - 5 * MIN - 1 } },
      health: { orders: "down", events: "ok" },
    };
    expect(Object.values(byId(evaluate(bad, config)))).toEqual(Array(7).fill("active"));
    const failed: Signals = {
      ...bad,
      compensationFailed: null,
      deadLetters: null,
      requests: null,
      outboxes: { "shop-orders": null },
      health: null,
    };
    expect(byId(evaluate(failed, config))).toMatchObject({
      saga_compensation_failed: "unknown",
      dead_letters: "unknown",
      "outbox_stale:shop-orders": "unknown",
      error_rate: "unknown",
      latency_p99: "unknown",
      health_degraded: "unknown",
    });
  });

  it("too few requests over the five minutes say nothing about error rate or p99", () => {
    const few: Signals = { ...quiet, requests: steady(3, 3, 60_000) };
    expect(byId(evaluate(few, config))).toMatchObject({ error_rate: "inactive", latency_p99: "inactive" });
  });

  it("an outbox is stale only once its oldest unconfirmed event is older than the threshold", () => {
    const at = (ageMs: number): Signals => ({
      ...quiet,
      outboxes: { "shop-orders": { pending: 1, oldestCreatedAt: NOW - ageMs } },
    });
    expect(byId(evaluate(at(5 * MIN), config))["outbox_stale:shop-orders"]).toBe("inactive");
    expect(byId(evaluate(at(5 * MIN + 1000), config))["outbox_stale:shop-orders"]).toBe("active");
  });
});

describe("over budget for 5 minutes: every whole minute, not the aggregate", () => {
  const over = (m: MinuteStats) => m.errors / m.count > 0.05;

  it("fires when each of the last five whole minutes is over budget", () => {
    expect(sustained(steady(10, 2, 0), NOW, 5, 20, over).active).toBe(true);
    expect(byId(evaluate({ ...quiet, requests: steady(10, 2, 0) }, config)).error_rate).toBe("active");
  });

  it("one bad minute among good ones does not fire, though the 5-minute aggregate is over budget", () => {
    const spike = minutes([5, 10, 0, 0], [4, 10, 0, 0], [3, 10, 10, 0], [2, 10, 0, 0], [1, 10, 0, 0]);
    const aggregate = spike.reduce((e, m) => e + m.errors, 0) / spike.reduce((n, m) => n + m.count, 0);
    expect(aggregate).toBeGreaterThan(0.05);
    expect(sustained(spike, NOW, 5, 20, over).active).toBe(false);
  });

  it("a minute without requests is no evidence, and the current partial minute is not judged", () => {
    const gap = minutes([5, 10, 5, 0], [4, 10, 5, 0], [2, 10, 5, 0], [1, 10, 5, 0]);
    expect(sustained(gap, NOW, 5, 20, over).active).toBe(false);
    // Four bad whole minutes and a bad current minute: not five whole minutes yet.
    const early = minutes([4, 10, 5, 0], [3, 10, 5, 0], [2, 10, 5, 0], [1, 10, 5, 0], [0, 10, 5, 0]);
    expect(sustained(early, NOW, 5, 20, over).active).toBe(false);
  });

  it("p99 judges each minute's own p99", () => {
    const slow = steady(20, 0, 2500);
    expect(byId(evaluate({ ...quiet, requests: slow }, config)).latency_p99).toBe("active");
    const oneFast = slow.map((m) => (m.at === minuteStart(2) ? { ...m, p99: 100 } : m));
    expect(byId(evaluate({ ...quiet, requests: oneFast }, config)).latency_p99).toBe("inactive");
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
      run("health_degraded", [
        [0, "active"],
        [2, "active"],
        [3, "inactive"],
        [4, "inactive"],
      ]).sent,
    ).toEqual([]);
    const held = run("health_degraded", [
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
