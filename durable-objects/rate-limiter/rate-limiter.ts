import { DurableObject } from "cloudflare:workers";
import { HitWindow } from "./hit-window";
import { type BucketSpec, type Decision, decide, maxWindowMs } from "./sliding-window";

export type { BucketSpec, Decision } from "./sliding-window";

/** Stale rows (hits that left every window) are deleted together once this many have gathered. */
export const PRUNE_BATCH = 64;

/**
 * One RateLimiter per rate-limit subject (a client network or a user). Its live window is held in
 * memory (`HitWindow`), loaded by one SELECT when the object wakes, and every admitted hit is
 * written through to SQLite in one INSERT, so an evicted object reloads the same truth. `take` has
 * no await at all: concurrent requests for one key are decided one after another, exactly.
 *
 * Housekeeping: hits that leave the window are deleted in bulk, in the same commit as an admitted
 * hit, once PRUNE_BATCH of them have gathered or the window has emptied. So that an object left idle
 * does not keep its rows for ever (SPEC: housekeeping runs by itself), the first admitted hit of an
 * object's life sets one alarm at that hit's expiry (in the same commit); when it fires, an empty
 * window deletes the object's storage and a live one moves the alarm to its last expiry. That is
 * one alarm per window of activity, never one per request.
 */
export class RateLimiter extends DurableObject {
  #window: HitWindow | undefined;
  /** Stored rows no longer in the window, not yet deleted. */
  #staleRows = 0;
  #tableExists = false;
  /** Whether this object life has set its clean-up alarm. */
  #alarmSet = false;

  /** The live window, read from SQLite once per object life. */
  #live(now: number): HitWindow {
    if (!this.#window) {
      const { window, expired } = HitWindow.load(this.#storedRows(), now);
      this.#window = window;
      this.#staleRows = expired;
    }
    this.#staleRows += this.#window.prune(now);
    return this.#window;
  }

  #storedRows(): { bucket: string; at: number; expiresAt: number }[] {
    try {
      const rows = this.ctx.storage.sql
        .exec<{ bucket: string; at: number; expiresAt: number }>(
          "SELECT bucket, at, expires_at AS expiresAt FROM hits ORDER BY at",
        )
        .toArray();
      this.#tableExists = true;
      return rows;
    } catch (error) {
      // A new object, or one whose storage was deleted: nothing stored yet.
      if (error instanceof Error && error.message.includes("no such table")) return [];
      throw error;
    }
  }

  /** Decides one request against every given bucket; admitted requests count in all of them. */
  async take(specs: BucketSpec[]): Promise<Decision> {
    const now = Date.now();
    const window = this.#live(now);
    const decision = decide(specs, window, now);
    if (decision.allowed) this.#record(specs, now, window);
    return decision;
  }

  /** Writes an admitted hit through to SQLite (one commit), then to the window. */
  #record(specs: readonly BucketSpec[], now: number, window: HitWindow): void {
    const sql = this.ctx.storage.sql;
    if (!this.#tableExists) {
      sql.exec(
        "CREATE TABLE IF NOT EXISTS hits (bucket TEXT NOT NULL, at INTEGER NOT NULL, expires_at INTEGER NOT NULL)",
      );
      this.#tableExists = true;
    }
    if (this.#staleRows >= PRUNE_BATCH || (this.#staleRows > 0 && window.size === 0)) {
      sql.exec("DELETE FROM hits WHERE expires_at <= ?", now);
      this.#staleRows = 0;
    }
    const rows = specs.map((spec) => [spec.key, now, now + maxWindowMs(spec)] as const);
    sql.exec(
      `INSERT INTO hits (bucket, at, expires_at) VALUES ${rows.map(() => "(?, ?, ?)").join(", ")}`,
      ...rows.flat(),
    );
    for (const [bucket, at, expiresAt] of rows) window.add(bucket, at, expiresAt);
    if (!this.#alarmSet) {
      void this.ctx.storage.setAlarm(window.lastExpiry);
      this.#alarmSet = true;
    }
  }

  /**
   * The clean-up alarm: everything goes once nothing is live; otherwise stale rows go and it moves
   * on. An object woken only for its alarm (usually: it was evicted since its last request) asks
   * SQLite for the latest expiry instead of loading its whole window, so an idle object's clean-up
   * is one aggregate read and `deleteAll`.
   */
  override async alarm(): Promise<void> {
    const now = Date.now();
    if (!this.#window && this.#latestStoredExpiry() <= now) {
      await this.#forget();
      return;
    }
    const window = this.#live(now);
    if (window.size === 0) {
      await this.#forget();
      return;
    }
    if (this.#staleRows > 0) {
      this.ctx.storage.sql.exec("DELETE FROM hits WHERE expires_at <= ?", now);
      this.#staleRows = 0;
    }
    await this.ctx.storage.setAlarm(window.lastExpiry);
    this.#alarmSet = true;
  }

  /** The latest expiry of any stored hit (0: none, or no table). */
  #latestStoredExpiry(): number {
    try {
      return (
        this.ctx.storage.sql.exec<{ last: number | null }>("SELECT MAX(expires_at) AS last FROM hits").one().last ?? 0
      );
    } catch (error) {
      if (error instanceof Error && error.message.includes("no such table")) return 0;
      throw error;
    }
  }

  /** Deletes the object's storage (its rows and its alarm): an idle object then costs nothing. */
  async #forget(): Promise<void> {
    this.#window = new HitWindow();
    this.#staleRows = 0;
    this.#tableExists = false;
    this.#alarmSet = false;
    await this.ctx.storage.deleteAll();
  }
}
