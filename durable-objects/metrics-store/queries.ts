import { type MetricsSummary, MetricsSummarySchema, type MetricsWindow, WINDOW_MS } from "#shared/contracts/ops";

/**
 * The questions `GET /api/admin/metrics` asks, each in two dialects with the same result columns:
 * Analytics Engine's SQL API (ClickHouse-like: weighted by `_sample_interval`, exact weighted
 * quantiles) and the local store's SQLite (nearest-rank percentiles by window functions; nothing is
 * sampled locally). `summarize` turns either's rows into one answer, so the code that shapes the
 * answer is the same for both and is tested against the local store.
 */
export type Dialect = "analytics-engine" | "sqlite";
export interface Query {
  sql: string;
  /** Bound parameters (SQLite only; the AE text inlines its few numbers, which come from an enum). */
  params: number[];
}

/** The committed dataset name; a deployed environment writes and reads its own (METRICS_DATASET). */
export const DATASET = "edge_shop";
/** What an Analytics Engine dataset name may be here: it is written into the SQL text. */
export const DATASET_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const PERCENTILES = [50, 95, 99] as const;

/** The time bucket of the series: a minute for the short windows, a quarter of an hour for a day. */
export function bucketMs(window: MetricsWindow): number {
  return window === "24h" ? 15 * 60_000 : 60_000;
}

function aePercentiles(column: string): string {
  return PERCENTILES.map((p) => `quantileExactWeighted(${p / 100})(${column}, _sample_interval) AS p${p}`).join(", ");
}

function sqlitePercentiles(): string {
  return PERCENTILES.map((p) => `MIN(CASE WHEN rn * 100 >= n * ${p} THEN v END) AS p${p}`).join(", ");
}

function aeSince(window: MetricsWindow): string {
  return `timestamp > NOW() - INTERVAL '${WINDOW_MS[window] / 1000}' SECOND`;
}

/** Rows of one kind in the window, ranked by a value within a partition (SQLite). */
function ranked(kind: string, value: string, partition: string[], extra: string[] = []): string {
  const by = partition.length ? `PARTITION BY ${partition.join(", ")} ` : "";
  return `WITH r AS (SELECT ${[...partition, ...extra, `${value} AS v`].join(", ")},
    ROW_NUMBER() OVER (${by}ORDER BY ${value}) AS rn, COUNT(*) OVER (${by.trim()}) AS n
    FROM points WHERE index1 = '${kind}' AND timestamp > ?)`;
}

export function queries(dialect: Dialect, window: MetricsWindow, now: number, dataset = DATASET) {
  if (!DATASET_NAME.test(dataset)) throw new Error(`not a dataset name: ${JSON.stringify(dataset)}`);
  const since = now - WINDOW_MS[window];
  const bucket = bucketMs(window);
  if (dialect === "analytics-engine") {
    const where = (kind: string) => `FROM ${dataset} WHERE index1 = '${kind}' AND ${aeSince(window)}`;
    const errors = "SUM(IF(double2 >= 500, _sample_interval, 0)) AS errors";
    return {
      totals: {
        sql: `SELECT SUM(_sample_interval) AS count, ${errors}, ${aePercentiles("double1")} ${where("request")}`,
        params: [],
      },
      byRoute: {
        sql: `SELECT blob1 AS route, blob2 AS method, SUM(_sample_interval) AS count, ${errors}, ${aePercentiles("double1")} ${where("request")} GROUP BY route, method ORDER BY count DESC LIMIT 50`,
        params: [],
      },
      series: {
        sql: `SELECT toUnixTimestamp(toStartOfInterval(timestamp, INTERVAL '${bucket / 1000}' SECOND)) * 1000 AS bucket, SUM(_sample_interval) AS count, ${errors}, quantileExactWeighted(0.95)(double1, _sample_interval) AS p95, quantileExactWeighted(0.99)(double1, _sample_interval) AS p99 ${where("request")} GROUP BY bucket ORDER BY bucket`,
        params: [],
      },
      sagaOutcomes: {
        sql: `SELECT blob1 AS outcome, SUM(_sample_interval) AS count ${where("saga")} GROUP BY outcome`,
        params: [],
      },
      sagaDuration: {
        sql: `SELECT quantileExactWeighted(0.95)(double1, _sample_interval) AS p95 ${where("saga")}`,
        params: [],
      },
      breakerTransitions: {
        sql: `SELECT toUnixTimestamp(timestamp) * 1000 AS at, blob1 AS name, blob2 AS from_state, blob3 AS to_state ${where("breaker")} ORDER BY timestamp LIMIT 500`,
        params: [],
      },
      outbox: {
        sql: `SELECT SUM(_sample_interval) AS count, quantileExactWeighted(0.95)(double1, _sample_interval) AS p95, MAX(double1) AS max ${where("outbox")}`,
        params: [],
      },
      queues: {
        sql: `SELECT blob1 AS queue, SUM(_sample_interval) AS batches, SUM(double1 * _sample_interval) AS messages, SUM(double3 * _sample_interval) AS retried, SUM(double4 * _sample_interval) AS dead, quantileExactWeighted(0.95)(double2, _sample_interval) AS p95 ${where("queue")} GROUP BY queue ORDER BY queue`,
        params: [],
      },
      notifications: {
        sql: `SELECT blob1 AS channel, blob2 AS outcome, SUM(_sample_interval) AS count, quantileExactWeighted(0.95)(double1, _sample_interval) AS p95 ${where("notification")} GROUP BY channel, outcome ORDER BY channel, outcome`,
        params: [],
      },
    } satisfies Record<string, Query>;
  }
  return {
    totals: {
      sql: `${ranked("request", "double1", [], ["double2 AS status"])}
        SELECT COUNT(*) AS count, COALESCE(SUM(status >= 500), 0) AS errors, ${sqlitePercentiles()} FROM r`,
      params: [since],
    },
    byRoute: {
      sql: `${ranked("request", "double1", ["blob1", "blob2"], ["double2 AS status"])}
        SELECT blob1 AS route, blob2 AS method, COUNT(*) AS count, SUM(status >= 500) AS errors, ${sqlitePercentiles()}
        FROM r GROUP BY blob1, blob2 ORDER BY count DESC LIMIT 50`,
      params: [since],
    },
    series: {
      sql: `WITH b AS (SELECT (timestamp / ${bucket}) * ${bucket} AS bucket, double1, double2 FROM points
          WHERE index1 = 'request' AND timestamp > ?),
        r AS (SELECT bucket, double2 AS status, double1 AS v,
          ROW_NUMBER() OVER (PARTITION BY bucket ORDER BY double1) AS rn, COUNT(*) OVER (PARTITION BY bucket) AS n FROM b)
        SELECT bucket, COUNT(*) AS count, SUM(status >= 500) AS errors, MIN(CASE WHEN rn * 100 >= n * 95 THEN v END) AS p95,
          MIN(CASE WHEN rn * 100 >= n * 99 THEN v END) AS p99
        FROM r GROUP BY bucket ORDER BY bucket`,
      params: [since],
    },
    sagaOutcomes: {
      sql: "SELECT blob1 AS outcome, COUNT(*) AS count FROM points WHERE index1 = 'saga' AND timestamp > ? GROUP BY blob1",
      params: [since],
    },
    sagaDuration: {
      sql: `${ranked("saga", "double1", [])} SELECT MIN(CASE WHEN rn * 100 >= n * 95 THEN v END) AS p95 FROM r`,
      params: [since],
    },
    breakerTransitions: {
      sql: `SELECT timestamp AS at, blob1 AS name, blob2 AS from_state, blob3 AS to_state FROM points
        WHERE index1 = 'breaker' AND timestamp > ? ORDER BY timestamp LIMIT 500`,
      params: [since],
    },
    outbox: {
      sql: `${ranked("outbox", "double1", [])} SELECT COUNT(*) AS count, MIN(CASE WHEN rn * 100 >= n * 95 THEN v END) AS p95,
        MAX(v) AS max FROM r`,
      params: [since],
    },
    queues: {
      sql: `${ranked("queue", "double2", ["blob1"], ["double1", "double3", "double4"])}
        SELECT blob1 AS queue, COUNT(*) AS batches, SUM(double1) AS messages, SUM(double3) AS retried, SUM(double4) AS dead,
          MIN(CASE WHEN rn * 100 >= n * 95 THEN v END) AS p95
        FROM r GROUP BY blob1 ORDER BY blob1`,
      params: [since],
    },
    notifications: {
      sql: `${ranked("notification", "double1", ["blob1", "blob2"])}
        SELECT blob1 AS channel, blob2 AS outcome, COUNT(*) AS count, MIN(CASE WHEN rn * 100 >= n * 95 THEN v END) AS p95
        FROM r GROUP BY blob1, blob2 ORDER BY blob1, blob2`,
      params: [since],
    },
  } satisfies Record<string, Query>;
}

export type QueryName = keyof ReturnType<typeof queries>;
export type QueryRows = Record<QueryName, Record<string, unknown>[]>;

const num = (value: unknown): number => {
  const n = Number(value ?? 0);
  return Number.isFinite(n) ? n : 0;
};
const rate = (part: number, whole: number) => (whole > 0 ? part / whole : 0);
const iso = (ms: unknown) => new Date(num(ms)).toISOString();

/** One answer from either source's rows (AE returns 64-bit numbers as strings: every value is coerced). */
export function summarize(window: MetricsWindow, source: MetricsSummary["source"], rows: QueryRows): MetricsSummary {
  const totals = rows.totals[0] ?? {};
  const count = num(totals.count);
  const outcomes = new Map(rows.sagaOutcomes.map((row) => [String(row.outcome), num(row.count)]));
  const relayed = num(rows.outbox[0]?.count);
  return MetricsSummarySchema.parse({
    window,
    source,
    requests: {
      count,
      rate: count / (WINDOW_MS[window] / 1000),
      errorRate: rate(num(totals.errors), count),
      p50: num(totals.p50),
      p95: num(totals.p95),
      p99: num(totals.p99),
      byRoute: rows.byRoute.map((row) => ({
        route: String(row.route),
        method: String(row.method),
        count: num(row.count),
        errorRate: rate(num(row.errors), num(row.count)),
        p50: num(row.p50),
        p95: num(row.p95),
        p99: num(row.p99),
      })),
      series: rows.series.map((row) => ({
        at: iso(row.bucket),
        count: num(row.count),
        errors: num(row.errors),
        p95: num(row.p95),
        p99: num(row.p99),
      })),
    },
    sagas: {
      completed: outcomes.get("completed") ?? 0,
      cancelled: outcomes.get("cancelled") ?? 0,
      compensationFailed: outcomes.get("compensation_failed") ?? 0,
      p95DurationMs: num(rows.sagaDuration[0]?.p95),
    },
    breakerTransitions: rows.breakerTransitions.map((row) => ({
      at: iso(row.at),
      name: String(row.name),
      from: row.from_state,
      to: row.to_state,
    })),
    outbox: {
      relayed: relayed,
      p95AgeMs: relayed > 0 ? num(rows.outbox[0]?.p95) : null,
      maxAgeMs: relayed > 0 ? num(rows.outbox[0]?.max) : null,
    },
    queues: rows.queues.map((row) => ({
      queue: String(row.queue),
      batches: num(row.batches),
      messages: num(row.messages),
      retried: num(row.retried),
      deadLettered: num(row.dead),
      p95DelayMs: num(row.p95),
    })),
    notifications: rows.notifications.map((row) => ({
      channel: String(row.channel),
      outcome: row.outcome,
      count: num(row.count),
      p95Ms: num(row.p95),
    })),
  });
}
