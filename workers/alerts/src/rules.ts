import * as z from "zod";
import { intVar, listVar, numberVar, readConfig } from "../../shared/src/config";
import { type AlertRule, AlertRuleSchema } from "../../shared/src/contracts/alerts";
import type { Breaker } from "../../shared/src/contracts/breaker";

/*
 * The alert rules and the firing/repeat/resolve machine, pure: no I/O, tested in Node. The
 * AlertManager object gathers the signals, runs these, stores the records and delivers.
 */

/** The rules and their thresholds, from vars (README "Configuration"). Fails fast on a bad one. */
export const AlertConfigSchema = z.object({
  ALERT_RULES: listVar().pipe(z.array(AlertRuleSchema)),
  ALERT_EVALUATION_INTERVAL_MS: intVar(1000),
  ALERT_REPEAT_INTERVAL_MS: intVar(1000),
  /** How long a condition must hold before it fires (breakers, error rate, p99, health). */
  ALERT_FOR_MS: intVar(0),
  ALERT_ERROR_RATE_MAX: numberVar(0, 1),
  ALERT_P99_MAX_MS: intVar(1),
  /** Below this many requests in the window, error rate and p99 say nothing. */
  ALERT_MIN_REQUESTS: intVar(1),
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

/** What the sources said at one evaluation; `null` where a source did not answer. */
export interface Signals {
  compensationFailed: string[] | null;
  deadLetters: number | null;
  breakers: Breaker[] | null;
  requests: { count: number; errorRate: number; p99: number | null } | null;
  /** Each checked service: ok or down. */
  health: Record<string, "ok" | "down"> | null;
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
  const r = signals.requests;
  const enough = r !== null && r.count >= config.ALERT_MIN_REQUESTS;
  if (on.has("error_rate")) {
    one(
      "error_rate",
      r === null ? null : enough && r.errorRate > config.ALERT_ERROR_RATE_MAX,
      `Error rate ${r ? (r.errorRate * 100).toFixed(1) : "?"}% over ${r?.count ?? "?"} requests (budget ${(config.ALERT_ERROR_RATE_MAX * 100).toFixed(1)}%)`,
    );
  }
  if (on.has("latency_p99")) {
    one(
      "latency_p99",
      r === null ? null : enough && (r.p99 ?? 0) > config.ALERT_P99_MAX_MS,
      `p99 latency ${r?.p99 ?? "?"} ms over ${r?.count ?? "?"} requests (budget ${config.ALERT_P99_MAX_MS} ms)`,
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

/** The rules that fire as soon as seen; the others wait `ALERT_FOR_MS` (Alertmanager's `for`). */
const IMMEDIATE: ReadonlySet<AlertRule> = new Set(["saga_compensation_failed", "dead_letters"]);

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
