import { DurableObject } from "cloudflare:workers";
import type { Alert } from "#shared/contracts/alerts";
import { createLogger, errorFields } from "#shared/log";
import { fullJitterDelay } from "#shared/retry";
import { type Delivery, deliver } from "./delivery";
import { type AlertRecord, alertConfig, evaluate, message, type Notification, step, unobserved } from "./rules";
import { gatherSignals } from "./signals";

const log = createLogger({ service: "shop-alerts" });
/** A failed delivery is retried (full jitter, doubling from ALERT_RETRY_BASE_MS) and never dropped. */
const RETRY_CAP_MS = 10 * 60_000;

interface AlertRow extends Record<string, SqlStorageValue> {
  id: string;
  rule: string;
  state: string;
  since: number;
  resolved_at: number | null;
  summary: string;
  last_notified_at: number | null;
}

/**
 * The one alert evaluator (`getByName("alerts")`). Its alarm multiplexes two timers: the next
 * evaluation and the earliest delivery retry. State (like Alertmanager's firing/resolved) and
 * the deliveries still owed live in SQLite, so a restart loses neither.
 */
export class AlertManager extends DurableObject<Env> {
  #ready = false;

  #schema(): void {
    if (this.#ready) return;
    this.ctx.storage.sql.exec(
      `CREATE TABLE IF NOT EXISTS alerts (
         id TEXT PRIMARY KEY, rule TEXT NOT NULL, state TEXT NOT NULL, since INTEGER NOT NULL,
         resolved_at INTEGER, summary TEXT NOT NULL, last_notified_at INTEGER);
       CREATE TABLE IF NOT EXISTS deliveries (
         key TEXT PRIMARY KEY, channel TEXT NOT NULL, subject TEXT NOT NULL, text TEXT NOT NULL,
         alert TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, due_at INTEGER NOT NULL,
         last_error TEXT);
       CREATE TABLE IF NOT EXISTS schedule (id INTEGER PRIMARY KEY CHECK (id = 1), next_evaluation INTEGER NOT NULL);`,
    );
    this.#ready = true;
  }

  /** Starts the evaluation timer if it never was (the alarm keeps itself going after that). */
  async ensureScheduled(): Promise<void> {
    this.#schema();
    const row = this.ctx.storage.sql.exec<{ n: number }>("SELECT next_evaluation AS n FROM schedule").toArray()[0];
    if (!row) this.ctx.storage.sql.exec("INSERT INTO schedule VALUES (1, ?)", Date.now());
    await this.#arm();
  }

  /** Firing first (newest first), then resolved ones still kept. Pending alerts are not alerts yet. */
  list(): Alert[] {
    this.#schema();
    const config = alertConfig(this.env);
    const rows = this.ctx.storage.sql
      .exec<AlertRow>(
        `SELECT * FROM alerts WHERE state = 'firing' OR (state = 'resolved' AND resolved_at >= ?)
         ORDER BY state = 'firing' DESC, since DESC`,
        Date.now() - config.ALERT_RESOLVED_KEEP_MS,
      )
      .toArray();
    return rows.map((r) => ({
      id: r.id,
      rule: r.rule as Alert["rule"],
      state: r.state as Alert["state"],
      since: new Date(r.since).toISOString(),
      ...(r.resolved_at !== null ? { resolvedAt: new Date(r.resolved_at).toISOString() } : {}),
      summary: r.summary,
      lastNotifiedAt: r.last_notified_at === null ? null : new Date(r.last_notified_at).toISOString(),
    }));
  }

  override async alarm(): Promise<void> {
    this.#schema();
    const config = alertConfig(this.env);
    const next = this.ctx.storage.sql.exec<{ n: number }>("SELECT next_evaluation AS n FROM schedule").toArray()[0];
    if (!next || next.n <= Date.now()) {
      // The sources are asked first (other requests interleave at each await); the state is then
      // read and written with no await in between.
      const signals = await gatherSignals(this.env);
      this.#apply(evaluate(signals, config), Date.now());
      this.ctx.storage.sql.exec(
        "INSERT INTO schedule VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET next_evaluation = excluded.next_evaluation",
        Date.now() + config.ALERT_EVALUATION_INTERVAL_MS,
      );
    }
    await this.#deliverDue();
    await this.#arm();
  }

  #apply(observations: ReturnType<typeof evaluate>, now: number): void {
    const config = alertConfig(this.env);
    this.ctx.storage.sql.exec(
      "DELETE FROM alerts WHERE state = 'resolved' AND resolved_at < ?",
      now - config.ALERT_RESOLVED_KEEP_MS,
    );
    const previous = new Map(
      this.ctx.storage.sql
        .exec<AlertRow>("SELECT * FROM alerts")
        .toArray()
        .map((r) => [r.id, toRecord(r)]),
    );
    const results = observations.map((o) => step(previous.get(o.id) ?? null, o, now, config));
    const seen = new Set(observations.map((o) => o.id));
    const dropped = [...previous.values()]
      .filter((r) => !seen.has(r.id) && r.state !== "resolved")
      .map((r) => ({ ...unobserved(r, now), id: r.id }));
    for (const [i, result] of results.entries()) this.#store(observations[i]?.id as string, result);
    for (const result of dropped) this.#store(result.id, result);
  }

  #store(id: string, { record, notify }: { record: AlertRecord | null; notify: Notification | null }): void {
    if (record === null) {
      this.ctx.storage.sql.exec("DELETE FROM alerts WHERE id = ?", id);
      return;
    }
    this.ctx.storage.sql.exec(
      `INSERT INTO alerts VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET state = excluded.state,
         since = excluded.since, resolved_at = excluded.resolved_at, summary = excluded.summary,
         last_notified_at = excluded.last_notified_at`,
      record.id,
      record.rule,
      record.state,
      record.since,
      record.resolvedAt,
      record.summary,
      record.lastNotifiedAt,
    );
    if (!notify) return;
    const { subject, text } = message(record, notify);
    const iso = (at: number | null) => (at === null ? null : new Date(at).toISOString());
    const alert = JSON.stringify({
      ...record,
      since: iso(record.since),
      resolvedAt: iso(record.resolvedAt),
      lastNotifiedAt: iso(record.lastNotifiedAt),
      notification: notify,
    });
    // One delivery per channel and notification; its key is the email's idempotency key.
    const key = `${record.id}:${notify}:${record.lastNotifiedAt}`;
    for (const channel of this.#channels()) {
      this.ctx.storage.sql.exec(
        "INSERT OR IGNORE INTO deliveries (key, channel, subject, text, alert, due_at) VALUES (?, ?, ?, ?, ?, ?)",
        `${channel}:${key}`,
        channel,
        subject,
        text,
        alert,
        Date.now(),
      );
    }
    log.info(`alert ${notify}`, { alertId: record.id, rule: record.rule, summary: record.summary });
  }

  #channels(): Delivery["channel"][] {
    const channels: Delivery["channel"][] = [];
    if (this.env.ALERT_EMAIL_TO) channels.push("email");
    if (this.env.ALERT_WEBHOOK_URL) channels.push("webhook");
    return channels;
  }

  async #deliverDue(): Promise<void> {
    const baseMs = alertConfig(this.env).ALERT_RETRY_BASE_MS;
    const policy = { baseMs, capMs: Math.max(baseMs, RETRY_CAP_MS) };
    const due = this.ctx.storage.sql
      .exec<Delivery & Record<string, SqlStorageValue>>(
        "SELECT key, channel, subject, text, alert, attempts FROM deliveries WHERE due_at <= ? ORDER BY due_at LIMIT 20",
        Date.now(),
      )
      .toArray();
    for (const delivery of due) {
      try {
        await deliver(this.env, delivery);
        this.ctx.storage.sql.exec("DELETE FROM deliveries WHERE key = ?", delivery.key);
      } catch (error) {
        const attempts = delivery.attempts + 1;
        this.ctx.storage.sql.exec(
          "UPDATE deliveries SET attempts = ?, due_at = ?, last_error = ? WHERE key = ?",
          attempts,
          Date.now() + Math.max(baseMs, fullJitterDelay(attempts, policy)),
          String(error).slice(0, 500),
          delivery.key,
        );
        log.warn("alert delivery failed; retried later", { key: delivery.key, attempts, ...errorFields(error) });
      }
    }
  }

  /** One alarm for both timers: the earliest of the next evaluation and the next delivery due. */
  async #arm(): Promise<void> {
    const next = this.ctx.storage.sql
      .exec<{ at: number | null }>(
        "SELECT MIN(at) AS at FROM (SELECT next_evaluation AS at FROM schedule UNION ALL SELECT MIN(due_at) FROM deliveries)",
      )
      .one().at;
    if (next !== null) await this.ctx.storage.setAlarm(Math.max(next, Date.now()));
  }
}

function toRecord(r: AlertRow): AlertRecord {
  return {
    id: r.id,
    rule: r.rule as AlertRecord["rule"],
    state: r.state as AlertRecord["state"],
    since: r.since,
    resolvedAt: r.resolved_at,
    summary: r.summary,
    lastNotifiedAt: r.last_notified_at,
  };
}
