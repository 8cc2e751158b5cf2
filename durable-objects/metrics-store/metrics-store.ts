import { DurableObject } from "cloudflare:workers";
import type { MetricsSummary, MetricsWindow } from "#shared/contracts/ops";
import type { DataPoint } from "#shared/metrics";
import { type QueryRows, queries, summarize } from "./queries";

/** Points older than this leave the store: the longest window is a day. */
const KEEP_MS = 25 * 3_600_000;
const PRUNE_EVERY_MS = 10 * 60_000;

/**
 * The development stand-in for Analytics Engine (which drops writes under `wrangler dev` and
 * Miniflare): one object keeping the last day of points in SQLite, in the dataset's own columns
 * (`timestamp`, `index1`, `blob1..4`, `double1..4`), queried with the same questions.
 */
export class MetricsStore extends DurableObject {
  #schemaReady = false;

  #ensureSchema(): void {
    if (this.#schemaReady) return;
    this.ctx.storage.sql.exec(
      `CREATE TABLE IF NOT EXISTS points (
         timestamp INTEGER NOT NULL, index1 TEXT NOT NULL,
         blob1 TEXT, blob2 TEXT, blob3 TEXT, blob4 TEXT, double1 REAL, double2 REAL, double3 REAL, double4 REAL);
       CREATE INDEX IF NOT EXISTS points_by_kind ON points (index1, timestamp);`,
    );
    // A store made before points had four doubles gets the two new columns.
    const columns = new Set(
      this.ctx.storage.sql
        .exec<{ name: string }>("SELECT name FROM pragma_table_info('points')")
        .toArray()
        .map((c) => c.name),
    );
    for (const column of ["double3", "double4"]) {
      if (!columns.has(column)) this.ctx.storage.sql.exec(`ALTER TABLE points ADD COLUMN ${column} REAL`);
    }
    this.#schemaReady = true;
  }

  async write(points: DataPoint[]): Promise<void> {
    this.#ensureSchema();
    const now = Date.now();
    for (const point of points.slice(0, 100)) {
      const [b1, b2, b3, b4] = point.blobs;
      const [d1, d2, d3, d4] = point.doubles;
      this.ctx.storage.sql.exec(
        `INSERT INTO points (timestamp, index1, blob1, blob2, blob3, blob4, double1, double2, double3, double4)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        now,
        String(point.indexes[0]).slice(0, 32),
        b1 ?? null,
        b2 ?? null,
        b3 ?? null,
        b4 ?? null,
        d1 ?? null,
        d2 ?? null,
        d3 ?? null,
        d4 ?? null,
      );
    }
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(now + PRUNE_EVERY_MS);
  }

  summary(window: MetricsWindow): MetricsSummary {
    this.#ensureSchema();
    const all = queries("sqlite", window, Date.now());
    const rows = Object.fromEntries(
      Object.entries(all).map(([name, query]) => [
        name,
        this.ctx.storage.sql.exec(query.sql, ...query.params).toArray() as Record<string, unknown>[],
      ]),
    ) as QueryRows;
    return summarize(window, "local", rows);
  }

  override async alarm(): Promise<void> {
    this.#ensureSchema();
    this.ctx.storage.sql.exec("DELETE FROM points WHERE timestamp < ?", Date.now() - KEEP_MS);
    const left = this.ctx.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM points").one().n;
    if (left > 0) await this.ctx.storage.setAlarm(Date.now() + PRUNE_EVERY_MS);
  }
}
