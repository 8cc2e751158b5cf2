import * as z from "zod";
import { flagVar, readConfig } from "./config";
import type { MetricPoint } from "./contracts/ops";

const MetricsVarsSchema = z.object({ METRICS_LOCAL: flagVar() });

/**
 * The one metrics dataset's layout (README "Metrics"): `index1` is the point's kind, then up to
 * four blobs and four doubles whose meaning depends on the kind. The local store keeps the same
 * columns, so the same questions are asked of either.
 */
export interface DataPoint {
  indexes: [string];
  blobs: string[];
  doubles: number[];
}

export function toDataPoint(point: MetricPoint): DataPoint {
  switch (point.kind) {
    case "request":
      return {
        indexes: ["request"],
        blobs: [point.route, point.method, point.limiter, point.caller],
        doubles: [point.latencyMs, point.status],
      };
    case "saga":
      return { indexes: ["saga"], blobs: [point.outcome, point.reason], doubles: [point.durationMs, point.attempts] };
    case "breaker":
      return { indexes: ["breaker"], blobs: [point.name, point.from, point.to], doubles: [point.failures] };
    case "outbox":
      return { indexes: ["outbox"], blobs: [point.source, point.type], doubles: [point.ageMs] };
    case "queue":
      return {
        indexes: ["queue"],
        blobs: [point.queue, point.consumer],
        doubles: [point.messages, point.maxDelayMs, point.retried, point.deadLettered],
      };
    case "notification":
      return { indexes: ["notification"], blobs: [point.channel, point.outcome], doubles: [point.durationMs] };
  }
}

/** Where a Worker's points go: Analytics Engine when bound, and the local store when configured. */
export interface MetricsBindings {
  METRICS?: AnalyticsEngineDataset;
  METRICS_STORE?: { idFromName(name: string): DurableObjectId; get(id: DurableObjectId): unknown };
  /** "true" in development, where Analytics Engine drops every write. */
  METRICS_LOCAL?: string;
}

/** The local store is one object: a development system's points are few. */
export const METRICS_STORE_NAME = "local";

/**
 * Records a point. Never throws and never delays the caller beyond handing the local write to
 * `waitUntil`: a metric is not worth a failed request.
 */
export function recordMetric(
  env: MetricsBindings,
  waitUntil: ((promise: Promise<unknown>) => void) | undefined,
  point: MetricPoint,
): void {
  const data = toDataPoint(point);
  try {
    env.METRICS?.writeDataPoint(data);
  } catch (error) {
    console.warn(JSON.stringify({ level: "warn", message: "metrics write failed", error: String(error) }));
  }
  if (!readConfig(MetricsVarsSchema, env).METRICS_LOCAL || !env.METRICS_STORE) return;
  // Typed by shape: shared code does not import the object (shop-ops hosts it).
  const stub = env.METRICS_STORE.get(env.METRICS_STORE.idFromName(METRICS_STORE_NAME)) as {
    write(points: DataPoint[]): Promise<void>;
  };
  const write = Promise.resolve(stub.write([data])).catch((error: unknown) =>
    console.warn(JSON.stringify({ level: "warn", message: "local metrics write failed", error: String(error) })),
  );
  if (waitUntil) waitUntil(write);
}
