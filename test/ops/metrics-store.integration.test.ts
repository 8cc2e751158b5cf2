import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { MetricsStore } from "#do/metrics-store/metrics-store";
import type { MetricPoint } from "#shared/contracts/ops";
import { METRICS_STORE_NAME, toDataPoint } from "#shared/metrics";
import { alertConfig, evaluate, minutesOf, type Signals } from "../../workers/alerts/src/rules";

const freshStore = () => env.METRICS_STORE.getByName(`store-${crypto.randomUUID()}`);

const request = (route: string, status: number, latencyMs: number, method = "GET"): MetricPoint => ({
  kind: "request",
  route,
  method,
  status,
  latencyMs,
  limiter: "allowed",
  caller: "user",
});

describe("MetricsStore: the local stand-in for Analytics Engine", () => {
  it("answers rate, error rate and nearest-rank percentiles, overall and per route", async () => {
    const store = freshStore();
    // /a: latencies 1..100 ms, every 10th a 5xx; /b: 10 requests of 500 ms, one a 4xx (not an error).
    const points = [
      ...Array.from({ length: 100 }, (_, i) => request("/a", (i + 1) % 10 === 0 ? 502 : 200, i + 1)),
      ...Array.from({ length: 10 }, (_, i) => request("/b", i === 0 ? 404 : 201, 500, "POST")),
    ];
    for (let i = 0; i < points.length; i += 50) await store.write(points.slice(i, i + 50).map(toDataPoint));

    const summary = await store.summary("15m");
    expect(summary.source).toBe("local");
    expect(summary.requests.count).toBe(110);
    expect(summary.requests.rate).toBeCloseTo(110 / 900, 6);
    expect(summary.requests.errorRate).toBeCloseTo(10 / 110, 6);
    // Sorted: 1..100 then ten 500s. Nearest rank: p50 = 55th = 55; p95 = 105th = 500; p99 = 109th = 500.
    expect([summary.requests.p50, summary.requests.p95, summary.requests.p99]).toEqual([55, 500, 500]);
    expect(summary.requests.byRoute).toEqual([
      { route: "/a", method: "GET", count: 100, errorRate: 0.1, p50: 50, p95: 95, p99: 99 },
      { route: "/b", method: "POST", count: 10, errorRate: 0, p50: 500, p95: 500, p99: 500 },
    ]);
    expect(summary.requests.series.reduce((n, bucket) => n + bucket.count, 0)).toBe(110);
    expect(summary.requests.series.reduce((n, bucket) => n + bucket.errors, 0)).toBe(10);
  });

  it("counts saga endings by outcome with the p95 duration, and lists breaker transitions in order", async () => {
    const store = freshStore();
    const sagas: MetricPoint[] = [
      ...Array.from(
        { length: 18 },
        (_, i): MetricPoint => ({ kind: "saga", outcome: "completed", reason: "", durationMs: 100 + i, attempts: 5 }),
      ),
      { kind: "saga", outcome: "cancelled", reason: "payment_unavailable", durationMs: 120_000, attempts: 9 },
      {
        kind: "saga",
        outcome: "compensation_failed",
        reason: "payment_unavailable",
        durationMs: 200_000,
        attempts: 30,
      },
    ];
    await store.write(sagas.map(toDataPoint));
    await store.write([toDataPoint({ kind: "breaker", name: "psp:a", from: "closed", to: "open", failures: 5 })]);
    await store.write([toDataPoint({ kind: "breaker", name: "psp:a", from: "open", to: "half_open", failures: 5 })]);

    const summary = await store.summary("1h");
    expect(summary.sagas).toEqual({ completed: 18, cancelled: 1, compensationFailed: 1, p95DurationMs: 120_000 });
    expect(summary.breakerTransitions.map(({ name, from, to }) => ({ name, from, to }))).toEqual([
      { name: "psp:a", from: "closed", to: "open" },
      { name: "psp:a", from: "open", to: "half_open" },
    ]);
    expect(summary.requests).toMatchObject({ count: 0, errorRate: 0, p50: 0, byRoute: [] });
  });

  it("answers only from the chosen window", async () => {
    const store = freshStore();
    await store.write([toDataPoint(request("/now", 200, 10))]);
    await runInDurableObject(store, (_instance: MetricsStore, state) => {
      const twoHoursAgo = Date.now() - 2 * 3_600_000;
      state.storage.sql.exec(
        `INSERT INTO points (timestamp, index1, blob1, blob2, blob3, blob4, double1, double2)
         VALUES (?, 'request', '/then', 'GET', 'allowed', 'user', 20, 500)`,
        twoHoursAgo,
      );
    });
    expect((await store.summary("15m")).requests.byRoute.map((r) => r.route)).toEqual(["/now"]);
    expect((await store.summary("1h")).requests.count).toBe(1);
    const day = await store.summary("24h");
    expect(day.requests.count).toBe(2);
    expect(day.requests.errorRate).toBe(0.5);
  });

  it("answers the outbox lag, queue batches and notification sends", async () => {
    const store = freshStore();
    const ages = Array.from({ length: 20 }, (_, i) => (i + 1) * 100); // 100..2000 ms
    await store.write(
      ages.map((ageMs) => toDataPoint({ kind: "outbox", source: "shop-orders", type: "order.created", ageMs })),
    );
    const batch = (queue: string, messages: number, maxDelayMs: number, retried: number, deadLettered: number) =>
      toDataPoint({ kind: "queue", queue, consumer: "c", messages, maxDelayMs, retried, deadLettered });
    await store.write([
      batch("shop-events", 10, 50, 0, 0),
      batch("shop-events", 5, 400, 2, 1),
      batch("shop-notifications", 3, 900, 3, 0),
      batch("shop-notifications-dlq", 1, 0, 0, 1),
    ]);
    await store.write([
      toDataPoint({ kind: "notification", channel: "email", outcome: "sent", durationMs: 12 }),
      toDataPoint({ kind: "notification", channel: "email", outcome: "sent", durationMs: 30 }),
      toDataPoint({ kind: "notification", channel: "sms", outcome: "failed", durationMs: 5 }),
    ]);

    const summary = await store.summary("15m");
    // Nearest rank: the 19th of 20 ages is the p95.
    expect(summary.outbox).toEqual({ relayed: 20, p95AgeMs: 1900, maxAgeMs: 2000 });
    expect(summary.queues).toEqual([
      { queue: "shop-events", batches: 2, messages: 15, retried: 2, deadLettered: 1, p95DelayMs: 400 },
      { queue: "shop-notifications", batches: 1, messages: 3, retried: 3, deadLettered: 0, p95DelayMs: 900 },
      { queue: "shop-notifications-dlq", batches: 1, messages: 1, retried: 0, deadLettered: 1, p95DelayMs: 0 },
    ]);
    expect(summary.notifications).toEqual([
      { channel: "email", outcome: "sent", count: 2, p95Ms: 30 },
      { channel: "sms", outcome: "failed", count: 1, p95Ms: 5 },
    ]);
    expect((await freshStore().summary("15m")).outbox).toEqual({ relayed: 0, p95AgeMs: null, maxAgeMs: null });
  });

  it("a store made when points had two doubles gains the new columns and keeps its points", async () => {
    const store = freshStore();
    await runInDurableObject(store, (_instance: MetricsStore, state) => {
      state.storage.sql.exec(
        `CREATE TABLE points (timestamp INTEGER NOT NULL, index1 TEXT NOT NULL,
           blob1 TEXT, blob2 TEXT, blob3 TEXT, blob4 TEXT, double1 REAL, double2 REAL);
         INSERT INTO points VALUES (${Date.now()}, 'request', '/old', 'GET', 'allowed', 'user', 5, 200);`,
      );
    });
    await store.write([
      toDataPoint({
        kind: "queue",
        queue: "q",
        consumer: "c",
        messages: 2,
        maxDelayMs: 1,
        retried: 1,
        deadLettered: 1,
      }),
    ]);
    const summary = await store.summary("15m");
    expect(summary.requests.byRoute.map((r) => r.route)).toEqual(["/old"]);
    expect(summary.queues).toMatchObject([{ queue: "q", messages: 2, retried: 1, deadLettered: 1 }]);
  });

  it("shop-ops' metrics() reads the local store when METRICS_SOURCE is local, and refuses an unknown window", async () => {
    await env.METRICS_STORE.getByName(METRICS_STORE_NAME).write([toDataPoint(request("/rpc-check", 200, 7))]);
    const result = await exports.default.metrics("1h");
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.value.requests.byRoute.map((r) => r.route)).toContain("/rpc-check");
    expect(await exports.default.metrics("7d")).toMatchObject({ ok: false, code: "validation_failed" });
  });
});

/**
 * The error-rate and p99 rules (shop-alerts) over the local store's per-minute series: they fire
 * only when every one of the last five whole minutes was over budget, so a spike that puts the
 * 5-minute aggregate over budget does not page.
 */
describe("over budget for 5 minutes, judged on the local store's minutes", () => {
  const config = alertConfig({
    ALERT_RULES: "error_rate,latency_p99",
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

  /** Writes, into a fresh store, `perMinute(ago)` requests in each of the last `n` whole minutes. */
  async function storeWith(
    n: number,
    perMinute: (ago: number) => { count: number; errors: number; latencyMs: number },
  ) {
    const store = freshStore();
    const now = Date.now();
    const current = Math.floor(now / 60_000) * 60_000;
    await store.write([]); // makes the schema
    await runInDurableObject(store, (_instance: MetricsStore, state) => {
      for (let ago = 1; ago <= n; ago++) {
        const { count, errors, latencyMs } = perMinute(ago);
        for (let i = 0; i < count; i++) {
          state.storage.sql.exec(
            `INSERT INTO points (timestamp, index1, blob1, blob2, blob3, blob4, double1, double2)
             VALUES (?, 'request', '/api/orders', 'POST', 'allowed', 'user', ?, ?)`,
            current - ago * 60_000 + 1000 + i,
            latencyMs,
            i < errors ? 503 : 201,
          );
        }
      }
    });
    const summary = await store.summary("15m");
    const signals: Signals = {
      now,
      compensationFailed: null,
      deadLetters: null,
      breakers: null,
      requests: minutesOf(summary),
      outboxes: null,
      health: null,
    };
    return { summary, rules: Object.fromEntries(evaluate(signals, config).map((o) => [o.rule, o.status])) };
  }

  it("five whole minutes each over budget fire both rules", async () => {
    const { rules } = await storeWith(5, () => ({ count: 10, errors: 2, latencyMs: 2500 }));
    expect(rules).toEqual({ error_rate: "active", latency_p99: "active" });
  });

  it("one bad minute in five does not fire, though the 5-minute aggregate is over budget", async () => {
    const { summary, rules } = await storeWith(5, (ago) =>
      ago === 3 ? { count: 10, errors: 10, latencyMs: 9000 } : { count: 10, errors: 0, latencyMs: 20 },
    );
    const recent = summary.requests.series.slice(-5);
    const aggregate = recent.reduce((e, b) => e + b.errors, 0) / recent.reduce((n, b) => n + b.count, 0);
    expect(aggregate).toBeGreaterThan(0.05);
    expect(rules).toEqual({ error_rate: "inactive", latency_p99: "inactive" });
  });

  it("four bad minutes are not five", async () => {
    const { rules } = await storeWith(4, () => ({ count: 10, errors: 5, latencyMs: 2500 }));
    expect(rules).toEqual({ error_rate: "inactive", latency_p99: "inactive" });
  });
});
