import { DurableObject } from "cloudflare:workers";
import * as z from "zod";
import { intVar, readConfig } from "#shared/config";
import {
  type AuditEntry,
  type AuditInput,
  AuditInputSchema,
  type AuditPage,
  type AuditQuery,
  type AuditVerify,
} from "#shared/contracts/ops";
import { entryHash, firstBadEntry, GENESIS_HASH } from "./chain";

interface Row extends Record<string, SqlStorageValue> {
  seq: number;
  at: string;
  actor_type: string;
  actor_id: string;
  action: string;
  target: string;
  before: string | null;
  after: string | null;
  request_id: string;
  trace_id: string;
  prev_hash: string;
  hash: string;
}

function toEntry(row: Row): AuditEntry {
  return {
    seq: row.seq,
    at: row.at,
    actor: { type: row.actor_type as AuditEntry["actor"]["type"], id: row.actor_id },
    action: row.action as AuditEntry["action"],
    target: row.target,
    ...(row.before === null ? {} : { before: JSON.parse(row.before) }),
    ...(row.after === null ? {} : { after: JSON.parse(row.after) }),
    requestId: row.request_id,
    traceId: row.trace_id,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

const DAY_MS = 86_400_000;
const RetentionVarsSchema = z.object({ AUDIT_RETENTION_DAYS: intVar(1, { fallback: 400 }) });
const VERIFY_PAGE = 500;

/**
 * The audit trail: one object (`AUDIT_LOG.idFromName("trail")`), an append-only hash chain in its
 * SQLite. Appends run one at a time (`blockConcurrencyWhile`: hashing is an await, and another
 * append must not read the same tail meanwhile), so N concurrent actions give N linked entries.
 * An append is keyed by (request id, action, target): recording the same action again is a no-op.
 */
export class AuditLog extends DurableObject<{ AUDIT_RETENTION_DAYS?: string }> {
  #schemaReady = false;

  #ensureSchema(): void {
    if (this.#schemaReady) return;
    this.ctx.storage.sql.exec(
      `CREATE TABLE IF NOT EXISTS audit (
         seq INTEGER PRIMARY KEY, at TEXT NOT NULL, actor_type TEXT NOT NULL, actor_id TEXT NOT NULL,
         action TEXT NOT NULL, target TEXT NOT NULL, before TEXT, after TEXT,
         request_id TEXT NOT NULL, trace_id TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL,
         UNIQUE (request_id, action, target));
       CREATE INDEX IF NOT EXISTS audit_by_actor ON audit (actor_id, seq);
       CREATE INDEX IF NOT EXISTS audit_by_target ON audit (target, seq);
       CREATE INDEX IF NOT EXISTS audit_by_at ON audit (at);
       -- The last entry retention removed: the first kept entry must link to it.
       CREATE TABLE IF NOT EXISTS anchor (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL);`,
    );
    this.#schemaReady = true;
  }

  async append(input: AuditInput): Promise<AuditEntry> {
    const parsed = AuditInputSchema.parse(input);
    const entry = await this.ctx.blockConcurrencyWhile(async () => {
      this.#ensureSchema();
      const sql = this.ctx.storage.sql;
      const existing = sql
        .exec<Row>(
          "SELECT * FROM audit WHERE request_id = ? AND action = ? AND target = ?",
          parsed.requestId,
          parsed.action,
          parsed.target,
        )
        .toArray()[0];
      if (existing) return toEntry(existing);
      const tail =
        sql.exec<{ seq: number; hash: string }>("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").toArray()[0] ??
        sql.exec<{ seq: number; hash: string }>("SELECT seq, hash FROM anchor").toArray()[0];
      const unhashed = {
        seq: (tail?.seq ?? 0) + 1,
        at: new Date().toISOString(),
        ...parsed,
        prevHash: tail?.hash ?? GENESIS_HASH,
      };
      const hash = await entryHash(unhashed);
      sql.exec(
        `INSERT INTO audit (seq, at, actor_type, actor_id, action, target, before, after, request_id, trace_id, prev_hash, hash)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        unhashed.seq,
        unhashed.at,
        parsed.actor.type,
        parsed.actor.id,
        parsed.action,
        parsed.target,
        parsed.before === undefined ? null : JSON.stringify(parsed.before),
        parsed.after === undefined ? null : JSON.stringify(parsed.after),
        parsed.requestId,
        parsed.traceId,
        unhashed.prevHash,
        hash,
      );
      return { ...unhashed, hash } as AuditEntry;
    });
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + DAY_MS);
    return entry;
  }

  /** Newest first; `cursor` is the seq to continue below. */
  list(query: AuditQuery): AuditPage {
    this.#ensureSchema();
    const where: string[] = [];
    const args: SqlStorageValue[] = [];
    if (query.actor) where.push("actor_id = ?") && args.push(query.actor);
    if (query.action) where.push("action = ?") && args.push(query.action);
    if (query.target) where.push("target = ?") && args.push(query.target);
    if (query.from) where.push("at >= ?") && args.push(new Date(query.from).toISOString());
    if (query.to) where.push("at < ?") && args.push(new Date(query.to).toISOString());
    if (query.cursor) where.push("seq < ?") && args.push(Number(query.cursor));
    const rows = this.ctx.storage.sql
      .exec<Row>(
        `SELECT * FROM audit ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY seq DESC LIMIT ?`,
        ...args,
        query.limit + 1,
      )
      .toArray();
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return { items: page.map(toEntry), nextCursor: rows.length > query.limit && last ? String(last.seq) : null };
  }

  /** Walks the whole kept chain from the retention anchor, a page at a time. */
  async verify(): Promise<AuditVerify> {
    this.#ensureSchema();
    const sql = this.ctx.storage.sql;
    let anchor = sql.exec<{ seq: number; hash: string }>("SELECT seq, hash FROM anchor").toArray()[0];
    let after = anchor?.seq ?? 0;
    let checked = 0;
    for (;;) {
      const rows = sql
        .exec<Row>("SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?", after, VERIFY_PAGE)
        .toArray();
      if (rows.length === 0) break;
      const entries = rows.map(toEntry);
      // The chain's first entry links to the genesis hash; after retention, to the anchor.
      const bad = await firstBadEntry(entries, anchor ?? { seq: 0, hash: GENESIS_HASH });
      if (bad !== undefined)
        return { valid: false, checked: checked + entries.findIndex((e) => e.seq === bad) + 1, firstBadSeq: bad };
      checked += entries.length;
      const last = entries.at(-1) as AuditEntry;
      anchor = { seq: last.seq, hash: last.hash };
      after = last.seq;
    }
    return { valid: true, checked };
  }

  /** Retention: entries older than AUDIT_RETENTION_DAYS (400) leave, the last one becoming the anchor. */
  override async alarm(): Promise<void> {
    this.#ensureSchema();
    const days = readConfig(RetentionVarsSchema, this.env).AUDIT_RETENTION_DAYS;
    const cutoff = new Date(Date.now() - days * DAY_MS).toISOString();
    const sql = this.ctx.storage.sql;
    const last = sql
      .exec<{ seq: number; hash: string }>("SELECT seq, hash FROM audit WHERE at < ? ORDER BY seq DESC LIMIT 1", cutoff)
      .toArray()[0];
    if (last) {
      sql.exec(
        "INSERT INTO anchor (id, seq, hash) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
        last.seq,
        last.hash,
      );
      sql.exec("DELETE FROM audit WHERE seq <= ?", last.seq);
    }
    await this.ctx.storage.setAlarm(Date.now() + DAY_MS);
  }
}
