import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { MetricsStore } from "../../durable-objects/metrics-store/metrics-store";
import type { MetricPoint } from "../../workers/shared/src/contracts/ops";
import { METRICS_STORE_NAME, toDataPoint } from "../../workers/shared/src/metrics";

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
        "INSERT INTO points VALUES (?, 'request', '/then', 'GET', 'allowed', 'user', 20, 500)",
        twoHoursAgo,
      );
    });
    expect((await store.summary("15m")).requests.byRoute.map((r) => r.route)).toEqual(["/now"]);
    expect((await store.summary("1h")).requests.count).toBe(1);
    const day = await store.summary("24h");
    expect(day.requests.count).toBe(2);
    expect(day.requests.errorRate).toBe(0.5);
  });

  it("shop-ops' metrics() reads the local store when METRICS_SOURCE is local, and refuses an unknown window", async () => {
    await env.METRICS_STORE.getByName(METRICS_STORE_NAME).write([toDataPoint(request("/rpc-check", 200, 7))]);
    const result = await exports.default.metrics("1h");
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.value.requests.byRoute.map((r) => r.route)).toContain("/rpc-check");
    expect(await exports.default.metrics("7d")).toMatchObject({ ok: false, code: "validation_failed" });
  });
});
