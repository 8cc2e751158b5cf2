import * as z from "zod";
import { intVar, listVar, numberVar, readConfig } from "#shared/config";
import { type AlertRule, AlertRuleSchema } from "#shared/contracts/alerts";
import type { Breaker } from "#shared/contracts/breaker";
import type { MetricsSummary } from "#shared/contracts/ops";

/*
 * The alert rules and the firing/repeat/resolve machine, pure: no I/O, tested in Node. The
 * AlertManager object gathers the signals, runs these, stores the records and delivers.
 */

/** The rules and their thresholds, from vars (README "Configuration"). Fails fast on a bad one. */
export const AlertConfigSchema = z.object({
  ALERT_RULES: listVar().pipe(z.array(AlertRuleSchema)),
  ALERT_EVALUATION_INTERVAL_MS: intVar(1000),
  ALERT_REPEAT_INTERVAL_MS: intVar(1000),
  /** How long a condition must hold before it fires (breakers, health). */
  ALERT_FOR_MS: intVar(0),
  ALERT_ERROR_RATE_MAX: numberVar(0, 1),
  ALERT_P99_MAX_MS: intVar(1),
  /**
   * Error rate and p99 fire only when every one of the last this many whole minutes was over
   * budget (see `sustained`); that window is their wait, so `ALERT_FOR_MS` does not apply to them.
   */
  ALERT_SUSTAINED_MINUTES: intVar(1, { max: 14 }),
  /** Below this many requests over those minutes, error rate and p99 say nothing. */
  ALERT_MIN_REQUESTS: intVar(1),
  /** A producing service's outbox holding an unconfirmed event older than this fires `outbox_stale`. */
  ALERT_OUTBOX_AGE_MAX_MS: intVar(1000),
  ALERT_DEAD_LETTERS_MAX: intVar(0),
  /** A failed delivery's first retry is at most this far off (full jitter, doubling, 10 min cap). */
  ALERT_RETRY_BASE_MS: intVar(1),
  /** Resolved alerts stay listed this long. */
  ALERT_RESOLVED_KEEP_MS: intVar(0),
});
export type AlertConfig = z.infer<typeof AlertConfigSchema>;

export function alertConfig(env: object): AlertConfig {
  return readConfig(AlertConfigSchema, env);
}

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
  outboxes: Record<string, { pending: number; oldestCreatedAt: number | null } | null> | null;
  /** Each checked service: ok or down. */
  health: Record<string, "ok" | "down"> | null;
}

/** The per-minute request stats of a metrics summary (its 15-minute window has minute buckets). */
export function minutesOf(summary: MetricsSummary): MinuteStats[] {
  return summary.requests.series.map((b) => ({ at: Date.parse(b.at), count: b.count, errors: b.errors, p99: b.p99 }));
}

/**
 * "Over budget for N minutes": each of the last N whole minutes (the current, partial minute is
 * not judged yet) had requests and was over budget, and together they had at least `minRequests`.
 * Every minute, not the N-minute aggregate: one very bad minute among quiet ones can push the
 * aggregate over budget, and that is a spike, not the sustained condition this rule pages for
 * (a spike shows in the metrics; the breaker and saga rules catch outages). A minute without
 * requests is no evidence, so it does not count as over budget.
 */
export function sustained(
  minutes: readonly MinuteStats[],
  now: number,
  n: number,
  minRequests: number,
  over: (minute: MinuteStats) => boolean,
): { active: boolean; judged: MinuteStats[] } {
  const current = Math.floor(now / 60_000) * 60_000;
  const wanted = Array.from({ length: n }, (_, i) => current - (n - i) * 60_000);
  const byStart = new Map(minutes.map((m) => [m.at, m]));
  const judged = wanted.map((at) => byStart.get(at)).filter((m): m is MinuteStats => m !== undefined);
  const total = judged.reduce((sum, m) => sum + m.count, 0);
  const active = judged.length === n && total >= minRequests && judged.every((m) => m.count > 0 && over(m));
  return { active, judged };
}

/** One alert's condition now: active or not, or unknown (its source failed: keep the state). */
export type Observation = { id: string; rule: AlertRule; status: "active" | "inactive" | "unknown"; summary: string };

/** Each enabled rule's observations. A per-breaker rule observes every configured breaker. */
export function evaluate(signals: Signals, config: AlertConfig): Observation[] {
  const on = new Set(config.ALERT_RULES);
  const out: Observation[] = [];
  const one = (rule: AlertRule, value: boolean | null, summary: string) =>
    out.push({ id: rule, rule, status: value === null ? "unknown" : value ? "active" : "inactive", summary });

  if (on.has("saga_compensation_failed")) {
    const ids = signals.compensationFailed;
    one(
      "saga_compensation_failed",
      ids === null ? null : ids.length > 0,
      ids?.length
        ? `${ids.length} saga(s) in compensation_failed: ${ids.slice(0, 10).join(", ")}`
        : "No saga in compensation_failed",
    );
  }
  if (on.has("dead_letters")) {
    const n = signals.deadLetters;
    one(
      "dead_letters",
      n === null ? null : n > config.ALERT_DEAD_LETTERS_MAX,
      `${n ?? "?"} dead letter(s) waiting (threshold ${config.ALERT_DEAD_LETTERS_MAX})`,
    );
  }
  if (on.has("breaker_open") && signals.breakers) {
    for (const b of signals.breakers) {
      out.push({
        id: `breaker_open:${b.name}`,
        rule: "breaker_open",
        status: b.state === "closed" ? "inactive" : "active",
        summary: `Breaker ${b.name} is ${b.state} (${b.failures} failures, since ${b.lastTransitionAt})`,
      });
    }
  }
  if (on.has("outbox_stale") && signals.outboxes) {
    for (const [service, backlog] of Object.entries(signals.outboxes)) {
      const ageMs = backlog?.oldestCreatedAt == null ? 0 : Math.max(0, signals.now - backlog.oldestCreatedAt);
      out.push({
        id: `outbox_stale:${service}`,
        rule: "outbox_stale",
        status: backlog === null ? "unknown" : ageMs > config.ALERT_OUTBOX_AGE_MAX_MS ? "active" : "inactive",
        summary: backlog
          ? `Outbox of ${service}: ${backlog.pending} unconfirmed event(s), oldest ${Math.round(ageMs / 1000)} s old (threshold ${config.ALERT_OUTBOX_AGE_MAX_MS / 1000} s)`
          : `Outbox of ${service}: not answering`,
      });
    }
  }
  const r = signals.requests;
  const minutes = config.ALERT_SUSTAINED_MINUTES;
  const judge = (over: (m: MinuteStats) => boolean) =>
    r === null ? null : sustained(r, signals.now, minutes, config.ALERT_MIN_REQUESTS, over);
  if (on.has("error_rate")) {
    const verdict = judge((m) => m.errors / m.count > config.ALERT_ERROR_RATE_MAX);
    const worst = verdict?.judged.map((m) => `${((m.errors / Math.max(1, m.count)) * 100).toFixed(0)}%`).join(" ");
    one(
      "error_rate",
      verdict === null ? null : verdict.active,
      `Error rate per minute over the last ${minutes} min: ${worst || "no requests"} (budget ${(config.ALERT_ERROR_RATE_MAX * 100).toFixed(1)}% in every minute)`,
    );
  }
  if (on.has("latency_p99")) {
    const verdict = judge((m) => m.p99 > config.ALERT_P99_MAX_MS);
    const each = verdict?.judged.map((m) => `${Math.round(m.p99)}`).join(" ");
    one(
      "latency_p99",
      verdict === null ? null : verdict.active,
      `p99 latency per minute over the last ${minutes} min: ${each ? `${each} ms` : "no requests"} (budget ${config.ALERT_P99_MAX_MS} ms in every minute)`,
    );
  }
  if (on.has("health_degraded")) {
    const down = signals.health && Object.keys(signals.health).filter((s) => signals.health?.[s] === "down");
    one(
      "health_degraded",
      down === null ? null : down.length > 0,
      down?.length ? `Health degraded: ${down.join(", ")} down` : "Every service is up",
    );
  }
  return out;
}

/**
 * The rules that fire as soon as seen; the others wait `ALERT_FOR_MS` (Alertmanager's `for`).
 * Error rate and p99 judge a window of whole minutes themselves, and an outbox's age is its own wait.
 */
const IMMEDIATE: ReadonlySet<AlertRule> = new Set([
  "saga_compensation_failed",
  "dead_letters",
  "outbox_stale",
  "error_rate",
  "latency_p99",
]);

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
export function step(
  previous: AlertRecord | null,
  observation: Observation,
  now: number,
  config: AlertConfig,
): { record: AlertRecord | null; notify: Notification | null } {
  const { id, rule, summary } = observation;
  if (observation.status === "unknown") return { record: previous, notify: null };
  const active = observation.status === "active";
  const forMs = IMMEDIATE.has(rule) ? 0 : config.ALERT_FOR_MS;

  if (!active) {
    if (previous?.state === "firing") {
      return {
        record: { ...previous, state: "resolved", resolvedAt: now, summary, lastNotifiedAt: now },
        notify: "resolved",
      };
    }
    return { record: previous?.state === "resolved" ? previous : null, notify: null };
  }
  if (previous === null || previous.state === "resolved") {
    const pending: AlertRecord = {
      id,
      rule,
      state: "pending",
      since: now,
      resolvedAt: null,
      summary,
      lastNotifiedAt: null,
    };
    return forMs === 0 ? fire(pending, now) : { record: pending, notify: null };
  }
  if (previous.state === "pending") {
    const held = { ...previous, summary };
    return now - previous.since >= forMs ? fire(held, now) : { record: held, notify: null };
  }
  const due = now - (previous.lastNotifiedAt ?? previous.since) >= config.ALERT_REPEAT_INTERVAL_MS;
  return due
    ? { record: { ...previous, summary, lastNotifiedAt: now }, notify: "repeat" }
    : { record: { ...previous, summary }, notify: null };
}

function fire(record: AlertRecord, now: number): { record: AlertRecord; notify: Notification } {
  return { record: { ...record, state: "firing", lastNotifiedAt: now }, notify: "firing" };
}

/**
 * An alert whose subject vanished from the observations (a breaker no longer configured) resolves
 * like an inactive one; pending ones are forgotten.
 */
export function unobserved(
  record: AlertRecord,
  now: number,
): { record: AlertRecord | null; notify: Notification | null } {
  return step(
    record,
    { id: record.id, rule: record.rule, status: "inactive", summary: `${record.summary} (no longer observed)` },
    now,
    {
      ALERT_FOR_MS: 0,
    } as AlertConfig,
  );
}

/** The message for a channel: one line for Slack's `text`, a subject and body for email. */
export function message(record: AlertRecord, notify: Notification): { subject: string; text: string } {
  const tag = notify === "resolved" ? "RESOLVED" : notify === "repeat" ? "FIRING (still)" : "FIRING";
  const subject = `[edge-shop] ${tag}: ${record.id}`;
  const since = new Date(record.since).toISOString();
  return { subject, text: `${subject}: ${record.summary} (since ${since})` };
}
