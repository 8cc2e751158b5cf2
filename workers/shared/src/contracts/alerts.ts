import * as z from "zod";

/*
 * Alerts (SPEC.md section 2, issue 10): rules shop-alerts evaluates on its AlertManager object's
 * alarm, and the operator email it hands to shop-notifications.
 */

/** The rules, one name each; `ALERT_RULES` enables a subset. */
export const AlertRuleSchema = z.enum([
  "saga_compensation_failed",
  "dead_letters",
  "breaker_open",
  "outbox_stale",
  "error_rate",
  "latency_p99",
  "health_degraded",
]);
export type AlertRule = z.infer<typeof AlertRuleSchema>;

export const AlertSchema = z
  .object({
    id: z.string().meta({
      description:
        "The rule, and for per-dependency rules the dependency (breaker_open:psp:a, outbox_stale:shop-orders)",
    }),
    rule: AlertRuleSchema,
    state: z.enum(["firing", "resolved"]),
    since: z.string().meta({ description: "ISO 8601: when the condition was first seen (before any `for` wait)" }),
    resolvedAt: z.string().optional(),
    summary: z.string(),
    lastNotifiedAt: z.string().nullable(),
  })
  .meta({ id: "Alert" });
export type Alert = z.infer<typeof AlertSchema>;

export const AlertListSchema = z.object({ items: z.array(AlertSchema) }).meta({ id: "AlertList" });
export type AlertList = z.infer<typeof AlertListSchema>;

/** `sendOperatorEmail()` on shop-notifications: the key makes a repeated send one email. */
export const OperatorEmailSchema = z.strictObject({
  to: z.email(),
  subject: z.string().min(1).max(200),
  body: z.string().min(1).max(10_000),
  idempotencyKey: z.string().min(8).max(200),
});
export type OperatorEmail = z.infer<typeof OperatorEmailSchema>;
