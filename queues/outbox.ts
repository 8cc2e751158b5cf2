import { alarmWaker } from "#shared/alarm-wake";
import type { Cause } from "#shared/contracts/common";
import {
  type Envelope,
  EVENT_CATALOGUE,
  type EventData,
  type EventSource,
  type EventsRpc,
  type EventType,
  type OutboxBacklog,
  parseEvent,
} from "#shared/contracts/events";
import { newId } from "#shared/ids";
import { createLogger, errorFields } from "#shared/log";
import { publish } from "./publish";

/**
 * The transactional outbox (SPEC.md section 5), the same in every producing service. Its tables
 * (`outbox`, `event_sequences`) are in each service's migrations.
 *
 * 0. `unitOfWork` is the one way code opens an outbox: one per request, RPC call or object event,
 *    flushed once when the work is done (after the response, through `waitUntil`).
 * 1. `stage` returns the statements that write an event's outbox row; the caller puts them in the
 *    same D1 batch as the state change, so the event exists if and only if the change committed.
 * 2. After the commit, `flush` sends the rows to the `shop-events` queue and makes sure the relay's
 *    alarm is set (asked at most once per alarm period per isolate: see `RelayWake`). Nothing is
 *    deleted yet: a send can fail, or be lost with a restart.
 * 3. The relay (`OutboxRelayObject`, a Durable Object alarm) asks shop-events which rows it has
 *    stored, deletes those, and sends again the ones it lacks (`sweepOutbox`).
 */

/** A piece of SQL and its parameters (anonymous `?` only). */
export interface Sql {
  sql: string;
  params: unknown[];
}

export interface StageInput<T extends EventType> {
  type: T;
  /** The aggregate the event is about; `sequence` counts per subject. */
  subject: string;
  /**
   * The payload, or SQL yielding it as a JSON object in the same transaction (for data only the
   * database knows at commit time, like a row after a conditional update).
   */
  data: EventData<T> | Sql;
  /** An id chosen by the caller (e.g. a saga's event id, so writing it twice stores it once). */
  id?: string;
  /**
   * A SQL condition: the row is written only if it holds. It is evaluated right after the
   * preceding statement of the batch, so `changes() = 1` means "that statement changed a row".
   */
  when?: Sql;
}

export interface OutboxBindings {
  DB: D1Database;
  /** Producer binding of the `shop-events` queue. */
  EVENTS_QUEUE: Queue;
  /** The shop-events service (RPC), which confirms what it stored. */
  EVENTS: Pick<EventsRpc, "stored">;
  OUTBOX_RELAY: { getByName(name: string): { ensureScheduled(): Promise<number> } };
}

/** Where a unit of work hands its flush to run after the answer (an ExecutionContext, a DO's ctx). */
export interface WaitUntil {
  waitUntil(promise: Promise<unknown>): void;
}

/**
 * The one way to open an outbox: `work` stages its events into `outbox` (in the batches of its
 * state changes); once it is done, whether it succeeded or threw, what it staged is flushed once,
 * off the answer's path. A unit of work that staged nothing flushes nothing.
 */
export async function unitOfWork<R>(
  scope: WaitUntil,
  env: OutboxBindings,
  source: EventSource,
  /** The trace (W3C traceparent of the causing span) and the actor every event carries. */
  cause: Cause,
  work: (outbox: Outbox) => Promise<R>,
): Promise<R> {
  const outbox = new Outbox(env, source, cause);
  try {
    return await work(outbox);
  } finally {
    scope.waitUntil(outbox.flush());
  }
}

/**
 * The relay is asked at most once per alarm period per isolate, not once per write: its alarm's
 * sweep runs after this flush's commit, sees the row, and re-arms while rows remain.
 */
const wake = alarmWaker();
const wakeRelay = (env: OutboxBindings, source: EventSource) =>
  wake(source, () => env.OUTBOX_RELAY.getByName("outbox").ensureScheduled());

const isSql = (data: unknown): data is Sql =>
  typeof data === "object" && data !== null && "sql" in data && "params" in data && Array.isArray(data.params);

/**
 * One unit of work's events: stage them into batches, then flush them after the commit. Code gets
 * one from `unitOfWork`; tests build one directly to use a repository without flushing.
 */
export class Outbox {
  readonly #staged: string[] = [];

  constructor(
    private readonly env: OutboxBindings,
    private readonly source: EventSource,
    /** The trace (W3C traceparent of the causing span) and the actor every event carries. */
    private readonly cause: Cause,
  ) {}

  /** Ids of the events staged so far (whether or not their batch committed). */
  get staged(): readonly string[] {
    return this.#staged;
  }

  /** The statements that write the event's outbox row and advance its subject's sequence. */
  stage<T extends EventType>(input: StageInput<T>): D1PreparedStatement[] {
    const { version, data: schema } = EVENT_CATALOGUE[input.type];
    const id = input.id ?? newId("evt");
    const sqlData = isSql(input.data) ? input.data : undefined;
    // A value is checked now, before anything commits; SQL-made data is checked when it is sent.
    const value = sqlData ? {} : schema.parse(input.data);
    const envelope = {
      id,
      type: input.type,
      version,
      occurredAt: new Date().toISOString(),
      source: this.source,
      subject: input.subject,
      sequence: 0,
      traceparent: this.cause.traceparent,
      actor: this.cause.actor,
      data: value,
    };
    const dataExpr = sqlData ? `json((${sqlData.sql}))` : "json(?)";
    const when = input.when ?? { sql: "1", params: [] };
    const db = this.env.DB;
    this.#staged.push(id);
    return [
      db
        .prepare(
          `INSERT INTO outbox (id, type, subject, sequence, envelope, created_at)
           SELECT ?, ?, ?, seq.next, json_set(?, '$.sequence', seq.next, '$.data', ${dataExpr}), ?
           FROM (SELECT COALESCE((SELECT last FROM event_sequences WHERE subject = ?), 0) + 1 AS next) AS seq
           WHERE ${when.sql}
           ON CONFLICT (id) DO NOTHING`,
        )
        .bind(
          id,
          input.type,
          input.subject,
          JSON.stringify(envelope),
          ...(sqlData ? sqlData.params : [JSON.stringify(value)]),
          Date.now(),
          input.subject,
          ...when.params,
        ),
      db
        .prepare(
          `INSERT INTO event_sequences (subject, last) SELECT subject, sequence FROM outbox WHERE id = ?
           ON CONFLICT (subject) DO UPDATE SET last = max(last, excluded.last)`,
        )
        .bind(id),
    ];
  }

  /**
   * After the commit: sends the staged events that were written (a rolled-back batch or a false
   * `when` left no row) and wakes the relay. Never throws: what it could not send, the relay sends.
   */
  async flush(): Promise<void> {
    const ids = this.#staged.splice(0);
    if (ids.length === 0) return;
    const log = createLogger({ service: this.source });
    try {
      await wakeRelay(this.env, this.source);
    } catch (error) {
      log.warn("outbox relay not reachable; the next flush or health check wakes it", errorFields(error));
    }
    try {
      await sendRows(this.env, await readRows(this.env.DB, ids));
    } catch (error) {
      log.warn("outbox send failed; the relay sends it again", { ids, ...errorFields(error) });
    }
  }
}

interface OutboxRow {
  id: string;
  envelope: string;
}

async function readRows(db: D1Database, ids: readonly string[]): Promise<OutboxRow[]> {
  const { results } = await db
    .prepare("SELECT id, envelope FROM outbox WHERE id IN (SELECT value FROM json_each(?)) ORDER BY created_at, id")
    .bind(JSON.stringify(ids))
    .all<OutboxRow>();
  return results;
}

/** Sends rows and notes when; a row whose envelope does not parse is a bug: logged, kept, not sent. */
async function sendRows(env: Pick<OutboxBindings, "DB" | "EVENTS_QUEUE">, rows: readonly OutboxRow[]): Promise<number> {
  const envelopes: Envelope[] = [];
  for (const row of rows) {
    const parsed = parseEvent(JSON.parse(row.envelope));
    if (parsed.ok) envelopes.push(parsed.event as Envelope);
    else
      createLogger({ service: "outbox" }).error("outbox row is not a valid event", {
        id: row.id,
        issues: parsed.issues,
      });
  }
  if (envelopes.length === 0) return 0;
  await publish(env.EVENTS_QUEUE, envelopes, { service: envelopes[0]?.source ?? "outbox", queue: "shop-events" });
  await env.DB.prepare(
    "UPDATE outbox SET sent_at = ?, attempts = attempts + 1 WHERE id IN (SELECT value FROM json_each(?))",
  )
    .bind(Date.now(), JSON.stringify(envelopes.map((e) => e.id)))
    .run();
  return envelopes.length;
}

/**
 * What the outbox holds that shop-events has not confirmed: how many rows and when the oldest was
 * written. Each producing service answers it over RPC (`outboxBacklog()`), and shop-alerts fires
 * `outbox_stale` when the oldest is older than its threshold.
 */
export async function outboxBacklog(db: D1Database): Promise<OutboxBacklog> {
  const row = await db
    .prepare("SELECT count(*) AS pending, min(created_at) AS oldest FROM outbox")
    .first<{ pending: number; oldest: number | null }>();
  return { pending: row?.pending ?? 0, oldestCreatedAt: row?.oldest ?? null };
}

export interface SweepReport {
  /** Rows shop-events confirmed, now deleted. */
  confirmed: number;
  /** Rows it lacked, sent again. */
  resent: number;
  /** Rows still in the outbox afterwards. */
  remaining: number;
}

/**
 * One pass of the relay: rows not touched for `resendAfterMs` (sent that long ago, or never sent)
 * are checked with shop-events; the stored ones are deleted, the others sent again.
 */
export async function sweepOutbox(
  env: Pick<OutboxBindings, "DB" | "EVENTS_QUEUE" | "EVENTS">,
  options: { resendAfterMs: number; now?: number; pageSize?: number },
): Promise<SweepReport> {
  const now = options.now ?? Date.now();
  const pageSize = options.pageSize ?? 100;
  const report: SweepReport = { confirmed: 0, resent: 0, remaining: 0 };
  let after = "";
  for (;;) {
    const { results: rows } = await env.DB.prepare(
      `SELECT id, envelope FROM outbox WHERE COALESCE(sent_at, created_at) <= ? AND id > ? ORDER BY id LIMIT ?`,
    )
      .bind(now - options.resendAfterMs, after, pageSize)
      .all<OutboxRow>();
    if (rows.length === 0) break;
    after = rows[rows.length - 1]?.id ?? after;
    const stored = new Set(await env.EVENTS.stored(rows.map((r) => r.id)));
    if (stored.size > 0) {
      await env.DB.prepare("DELETE FROM outbox WHERE id IN (SELECT value FROM json_each(?))")
        .bind(JSON.stringify([...stored]))
        .run();
      report.confirmed += stored.size;
    }
    report.resent += await sendRows(
      env,
      rows.filter((r) => !stored.has(r.id)),
    );
    if (rows.length < pageSize) break;
  }
  const left = await env.DB.prepare("SELECT count(*) AS n FROM outbox").first<{ n: number }>();
  report.remaining = left?.n ?? 0;
  return report;
}
