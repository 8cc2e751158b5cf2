import { z } from "zod";
import { type AlertRule } from "#shared/contracts/alerts";
import type { Breaker } from "#shared/contracts/breaker";
import type { MetricsSummary } from "#shared/contracts/ops";
/** The rules and their thresholds, from vars (README "Configuration"). Fails fast on a bad one. */
export declare const AlertConfigSchema: z.ZodObject<
  {
    ALERT_RULES: z.ZodPipe<
      z.ZodPipe<z.ZodString, z.ZodTransform<string[], string>>,
      z.ZodArray<
        z.ZodEnum<{
          saga_compensation_failed: "saga_compensation_failed";
          dead_letters: "dead_letters";
          breaker_open: "breaker_open";
          outbox_stale: "outbox_stale";
          error_rate: "error_rate";
          latency_p99: "latency_p99";
          health_degraded: "health_degraded";
        }>
      >
    >;
    ALERT_EVALUATION_INTERVAL_MS: z.ZodCoercedNumber<unknown>;
    ALERT_REPEAT_INTERVAL_MS: z.ZodCoercedNumber<unknown>;
    ALERT_FOR_MS: z.ZodCoercedNumber<unknown>;
    ALERT_ERROR_RATE_MAX: z.ZodCoercedNumber<unknown>;
    ALERT_P99_MAX_MS: z.ZodCoercedNumber<unknown>;
    ALERT_SUSTAINED_MINUTES: z.ZodCoercedNumber<unknown>;
    ALERT_MIN_REQUESTS: z.ZodCoercedNumber<unknown>;
    ALERT_OUTBOX_AGE_MAX_MS: z.ZodCoercedNumber<unknown>;
    ALERT_DEAD_LETTERS_MAX: z.ZodCoercedNumber<unknown>;
    ALERT_RETRY_BASE_MS: z.ZodCoercedNumber<unknown>;
    ALERT_RESOLVED_KEEP_MS: z.ZodCoercedNumber<unknown>;
  },
  z.core.$strip
>;
export type AlertConfig = z.infer<typeof AlertConfigSchema>;
export declare function alertConfig(env: object): AlertConfig;
/** One minute of requests (a bucket of the metrics series). */
export interface MinuteStats {
  /** Epoch ms the minute starts. */
  at: number;
  count: number;
  errors: number;
  p99: number;
}
/** What the sources said at one evaluation; `null` where a source did not answer. */
export interface Signals {
  /** When the signals were gathered (epoch ms): the minutes are counted back from it. */
  now: number;
  compensationFailed: string[] | null;
  deadLetters: number | null;
  breakers: Breaker[] | null;
  /** Requests per minute over the recent window (minutes without requests are absent). */
  requests: MinuteStats[] | null;
  /** Each producing service's oldest unconfirmed outbox row (epoch ms; null: empty), or null if it did not answer. */
  outboxes: Record<
    string,
    {
      pending: number;
      oldestCreatedAt: number | null;
    } | null
  > | null;
  /** Each checked service: ok or down. */
  health: Record<string, "ok" | "down"> | null;
}
/** The per-minute request stats of a metrics summary (its 15-minute window has minute buckets). */
export declare function minutesOf(summary: MetricsSummary): MinuteStats[];
/**
 * "Over budget for N minutes": each of the last N whole minutes (the current, partial minute is
 * not judged yet) had requests and was over budget, and together they had at least `minRequests`.
 * Every minute, not the N-minute aggregate: one very bad minute among quiet ones can push the
 * aggregate over budget, and that is a spike, not the sustained condition this rule pages for
 * (a spike shows in the metrics; the breaker and saga rules catch outages). A minute without
 * requests is no evidence, so it does not count as over budget.
 */
export declare function sustained(
  minutes: readonly MinuteStats[],
  now: number,
  n: number,
  minRequests: number,
  over: (minute: MinuteStats) => boolean,
): {
  active: boolean;
  judged: MinuteStats[];
};
/** One alert's condition now: active or not, or unknown (its source failed: keep the state). */
export type Observation = {
  id: string;
  rule: AlertRule;
  status: "active" | "inactive" | "unknown";
  summary: string;
};
/** Each enabled rule's observations. A per-breaker rule observes every configured breaker. */
export declare function evaluate(signals: Signals, config: AlertConfig): Observation[];
/** An alert as stored. `pending`: seen, not yet held for long enough; never listed or notified. */
export interface AlertRecord {
  id: string;
  rule: AlertRule;
  state: "pending" | "firing" | "resolved";
  since: number;
  resolvedAt: number | null;
  summary: string;
  lastNotifiedAt: number | null;
}
export type Notification = "firing" | "repeat" | "resolved";
/**
 * One alert's next record (null: forget it) and the notification to send, if any. Fires once
 * (after `for` where the rule has one), repeats every `ALERT_REPEAT_INTERVAL_MS` while firing,
 * resolves once; an unknown condition changes nothing.
 */
export declare function step(
  previous: AlertRecord | null,
  observation: Observation,
  now: number,
  config: AlertConfig,
): {
  record: AlertRecord | null;
  notify: Notification | null;
};
/**
 * An alert whose subject vanished from the observations (a breaker no longer configured) resolves
 * like an inactive one; pending ones are forgotten.
 */
export declare function unobserved(
  record: AlertRecord,
  now: number,
): {
  record: AlertRecord | null;
  notify: Notification | null;
};
/** The message for a channel: one line for Slack's `text`, a subject and body for email. */
export declare function message(
  record: AlertRecord,
  notify: Notification,
): {
  subject: string;
  text: string;
};
