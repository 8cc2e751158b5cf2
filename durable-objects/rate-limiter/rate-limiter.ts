import { DurableObject } from "cloudflare:workers";
import { type BucketSpec, type Decision, decide, type HitLog, maxWindowMs } from "./sliding-window";

export type { BucketSpec, Decision } from "./sliding-window";

/**
 * One RateLimiter per rate-limit subject (a client network or a user), holding that subject's
 * buckets in SQLite. `take` is synchronous from read to write (SQLite calls only, no await), so
 * concurrent requests for one key are decided one after another and the quota is exact.
 */
export class RateLimiter extends DurableObject {
  #schemaReady = false;
  /** Known in memory once checked, so a hot object does not touch its alarm on every request. */
  #alarmPending = false;

  #ensureSchema(): void {
    if (this.#schemaReady) return;
    this.ctx.storage.sql.exec(
      `CREATE TABLE IF NOT EXISTS hits (bucket TEXT NOT NULL, at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
       CREATE INDEX IF NOT EXISTS hits_by_bucket ON hits (bucket, at);`,
    );
    this.#schemaReady = true;
  }

  /** Decides one request against every given bucket; admitted requests count in all of them. */
  async take(specs: BucketSpec[]): Promise<Decision> {
    this.#ensureSchema();
    const sql = this.ctx.storage.sql;
    const now = Date.now();
    for (const spec of specs) {
      sql.exec("DELETE FROM hits WHERE bucket = ? AND expires_at <= ?", spec.key, now);
    }
    // Read through the (bucket, at) index: a count and at most a few rows, never the whole log.
    const log: HitLog = {
      count: (key, since) =>
        sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM hits WHERE bucket = ? AND at > ?", key, since).one().n,
      nth: (key, since, k) =>
        sql
          .exec<{ at: number }>(
            "SELECT at FROM hits WHERE bucket = ? AND at > ? ORDER BY at LIMIT 1 OFFSET ?",
            key,
            since,
            k - 1,
          )
          .toArray()[0]?.at,
    };
    const decision = decide(specs, log, now);
    if (decision.allowed) {
      for (const spec of specs) {
        sql.exec("INSERT INTO hits (bucket, at, expires_at) VALUES (?, ?, ?)", spec.key, now, now + maxWindowMs(spec));
      }
    }
    // The decision above is already written; the alarm only tidies up after the object goes idle.
    // One pending alarm is enough: when it fires it reschedules itself to the latest expiry.
    if (!this.#alarmPending) {
      if ((await this.ctx.storage.getAlarm()) === null) {
        await this.ctx.storage.setAlarm(Math.max(...specs.map((spec) => now + maxWindowMs(spec))));
      }
      this.#alarmPending = true;
    }
    return decision;
  }

  /** Housekeeping: drop expired hits; an object with none left deletes its storage entirely. */
  override async alarm(): Promise<void> {
    this.#alarmPending = false;
    this.#ensureSchema();
    const now = Date.now();
    this.ctx.storage.sql.exec("DELETE FROM hits WHERE expires_at <= ?", now);
    const next = this.ctx.storage.sql
      .exec<{ next: number | null }>("SELECT MAX(expires_at) AS next FROM hits")
      .one().next;
    if (next === null) {
      await this.ctx.storage.deleteAll();
      this.#schemaReady = false;
    } else {
      await this.ctx.storage.setAlarm(next);
      this.#alarmPending = true;
    }
  }
}
