import * as z from "zod";
import { BreakerSchema, BreakerStateSchema } from "./breaker";
import { ActorSchema, ListQuerySchema } from "./common";

/*
 * Operations: the audit trail, metrics and alerts (SPEC.md section 2, issue 10). The audit trail
 * and the local metrics store live in shop-ops; the gateway records privileged actions into it.
 */

// ---------------------------------------------------------------- audit trail

export { type Actor, ActorSchema } from "./common";

/** The privileged actions the trail records (one name each, the same everywhere). */
export const AuditActionSchema = z.enum([
  "user.role.set",
  "product.create",
  "product.update",
  "product.restock",
  "order.cancel",
  "order.ship",
  "faults.set",
  "events.replay",
  "dead_letters.redrive",
  "saga.retry",
  "admin.create",
]);
export type AuditAction = z.infer<typeof AuditActionSchema>;

/**
 * Checked as JSON but typed one level deep: a recursive type makes the RPC stub types
 * infinitely deep, and `unknown` is not serialisable across RPC.
 */
type JsonLeaf = string | number | boolean | null;
export type JsonValue = JsonLeaf | JsonLeaf[] | { [key: string]: JsonLeaf | JsonLeaf[] | object };
const isJson = (value: unknown): boolean => {
  try {
    return JSON.stringify(value) !== undefined;
  } catch {
    return false;
  }
};
// z.json() is recursive, which the OpenAPI generator cannot document: a refinement checks the same.
const JsonValueSchema = z
  .unknown()
  .refine(isJson, { error: "Must be JSON." })
  .meta({ description: "any JSON value" }) as unknown as z.ZodType<JsonValue>;

/** What a recorder hands to the trail; the trail adds `seq`, `at` and the hashes. */
export const AuditInputSchema = z.strictObject({
  actor: ActorSchema,
  action: AuditActionSchema,
  target: z.string().min(1).max(200),
  before: JsonValueSchema.optional(),
  after: JsonValueSchema.optional(),
  requestId: z.string().min(1).max(100),
  traceId: z.string().regex(/^[0-9a-f]{32}$/),
});
export type AuditInput = z.infer<typeof AuditInputSchema>;

export const AuditEntrySchema = z
  .object({
    seq: z.number().int().positive(),
    at: z.string(),
    actor: ActorSchema,
    action: AuditActionSchema,
    target: z.string(),
    before: JsonValueSchema.optional(),
    after: JsonValueSchema.optional(),
    requestId: z.string(),
    traceId: z.string(),
    hash: z.string(),
    prevHash: z.string(),
  })
  .meta({ id: "AuditEntry" });
export type AuditEntry = z.infer<typeof AuditEntrySchema>;

/** `?actor=usr_...` (an actor id), `action`, `target`, and an ISO time range, newest first. */
export const AuditFilterSchema = z.object({
  actor: z.string().min(1).max(100).optional(),
  action: AuditActionSchema.optional(),
  target: z.string().min(1).max(200).optional(),
  from: z.iso.datetime().optional(),
  to: z.iso.datetime().optional(),
});
export type AuditFilter = z.infer<typeof AuditFilterSchema>;

/** The cursor of the audit list is the `seq` to continue below (entries are numbered, newest first). */
export const AuditQuerySchema = ListQuerySchema.extend(AuditFilterSchema.shape).extend({
  cursor: z
    .string()
    .regex(/^[1-9]\d{0,15}$/, { error: "Not a cursor from this list." })
    .optional(),
});
export type AuditQuery = z.infer<typeof AuditQuerySchema>;

export const AuditPageSchema = z
  .object({ items: z.array(AuditEntrySchema), nextCursor: z.string().nullable() })
  .meta({ id: "AuditPage" });
export type AuditPage = z.infer<typeof AuditPageSchema>;

export const AuditVerifySchema = z
  .object({
    valid: z.boolean(),
    checked: z.number().int().nonnegative(),
    firstBadSeq: z.number().int().positive().optional(),
  })
  .meta({ id: "AuditVerify" });
export type AuditVerify = z.infer<typeof AuditVerifySchema>;

// ---------------------------------------------------------------- metrics

/**
 * One point of the `edge_shop` Analytics Engine dataset. `kind` is the index (AE samples per index
 * value); blobs and doubles are positional in AE, named here (README "Metrics" has the table).
 */
export const MetricPointSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("request"),
    route: z.string().max(200),
    method: z.string().max(10),
    status: z.number().int(),
    latencyMs: z.number().nonnegative(),
    limiter: z.enum(["allowed", "refused", "none"]),
    caller: z.enum(["anonymous", "user", "admin"]),
  }),
  z.object({
    kind: z.literal("saga"),
    outcome: z.enum(["completed", "cancelled", "compensation_failed"]),
    reason: z.string().max(100),
    durationMs: z.number().nonnegative(),
    attempts: z.number().int().nonnegative(),
  }),
  z.object({
    kind: z.literal("breaker"),
    name: z.string().max(100),
    from: BreakerStateSchema,
    to: BreakerStateSchema,
    failures: z.number().int().nonnegative(),
  }),
  /** An event stored by shop-events (the outbox's confirmation): its age since `occurredAt`. */
  z.object({
    kind: z.literal("outbox"),
    source: z.string().max(50),
    type: z.string().max(50),
    ageMs: z.number().nonnegative(),
  }),
  /** One batch a queue consumer settled. */
  z.object({
    kind: z.literal("queue"),
    queue: z.string().max(64),
    consumer: z.string().max(50),
    messages: z.number().int().nonnegative(),
    maxDelayMs: z.number().nonnegative().meta({ description: "the largest age since occurredAt in the batch" }),
    retried: z.number().int().nonnegative(),
    deadLettered: z.number().int().nonnegative(),
  }),
  /** One message handed to a notification channel's provider. */
  z.object({
    kind: z.literal("notification"),
    channel: z.string().max(20),
    outcome: z.enum(["sent", "failed"]),
    durationMs: z.number().nonnegative(),
  }),
]);
export type MetricPoint = z.infer<typeof MetricPointSchema>;

export const MetricsWindowSchema = z.enum(["15m", "1h", "24h"]);
export type MetricsWindow = z.infer<typeof MetricsWindowSchema>;
export const WINDOW_MS: Record<MetricsWindow, number> = { "15m": 15 * 60_000, "1h": 3_600_000, "24h": 86_400_000 };

export const RouteStatsSchema = z.object({
  route: z.string(),
  method: z.string(),
  count: z.number().int(),
  errorRate: z.number(),
  p50: z.number(),
  p95: z.number(),
  p99: z.number(),
});

/** What the metrics source answers (shop-ops: the local store or Analytics Engine). */
export const MetricsSummarySchema = z.object({
  window: MetricsWindowSchema,
  source: z.enum(["local", "analytics-engine"]),
  requests: z.object({
    count: z.number().int(),
    rate: z.number().meta({ description: "requests per second over the window" }),
    errorRate: z.number().meta({ description: "share of 5xx answers, 0..1" }),
    p50: z.number(),
    p95: z.number(),
    p99: z.number(),
    byRoute: z.array(RouteStatsSchema),
    series: z.array(
      z.object({ at: z.string(), count: z.number().int(), errors: z.number().int(), p95: z.number(), p99: z.number() }),
    ),
  }),
  sagas: z.object({
    completed: z.number().int(),
    cancelled: z.number().int(),
    compensationFailed: z.number().int(),
    p95DurationMs: z.number(),
  }),
  breakerTransitions: z.array(
    z.object({ at: z.string(), name: z.string(), from: BreakerStateSchema, to: BreakerStateSchema }),
  ),
  outbox: z.object({
    relayed: z.number().int().meta({ description: "events shop-events stored (confirmed) in the window" }),
    p95AgeMs: z.number().nullable().meta({ description: "p95 of their age at confirmation; null without any" }),
    maxAgeMs: z.number().nullable(),
  }),
  queues: z.array(
    z.object({
      queue: z.string(),
      batches: z.number().int(),
      messages: z.number().int(),
      retried: z.number().int(),
      deadLettered: z.number().int(),
      p95DelayMs: z.number().meta({ description: "p95 over batches of the largest delay since occurredAt" }),
    }),
  ),
  notifications: z.array(
    z.object({ channel: z.string(), outcome: z.enum(["sent", "failed"]), count: z.number().int(), p95Ms: z.number() }),
  ),
});
export type MetricsSummary = z.infer<typeof MetricsSummarySchema>;

export const MetricsReportSchema = MetricsSummarySchema.omit({ breakerTransitions: true })
  .extend({
    breakers: z.array(
      BreakerSchema.extend({
        transitions: z.array(z.object({ at: z.string(), from: BreakerStateSchema, to: BreakerStateSchema })),
      }),
    ),
    deadLetters: z.number().int().meta({ description: "dead letters waiting for a redrive (now)" }),
    outboxLagMs: z.number().nullable().meta({
      description:
        "p95 over the window of an event's age when shop-events confirmed it (outbox to bus); null when none was",
    }),
  })
  .meta({ id: "MetricsReport" });
export type MetricsReport = z.infer<typeof MetricsReportSchema>;
