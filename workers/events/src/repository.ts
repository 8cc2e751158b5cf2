import type { DeadLetter, DeadLetterInput, DomainEvent, EventType } from "#shared/contracts/events";
import { encodeCursor } from "#shared/cursor";
import { newId } from "#shared/ids";

/** All SQL of shop-events: prepared statements with bound parameters only. */

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

interface DeadLetterRow {
  id: string;
  queue: string;
  message_id: string;
  reason: string;
  attempts: number;
  body: string;
  failed_at: string;
  redriven_at: string | null;
}

function toDeadLetter(row: DeadLetterRow): DeadLetter {
  let body: unknown = row.body;
  try {
    body = JSON.parse(row.body);
  } catch {
    // kept as text: a message that was not JSON
  }
  return {
    id: row.id,
    queue: row.queue,
    messageId: row.message_id,
    reason: row.reason,
    attempts: row.attempts,
    body,
    failedAt: row.failed_at,
    redrivenAt: row.redriven_at,
  };
}

/** Text for any message body (a body that cannot be serialised is described instead). */
function bodyText(body: unknown): string {
  try {
    return JSON.stringify(body) ?? String(body);
  } catch {
    return String(body);
  }
}

export class EventsRepository {
  constructor(private readonly db: D1Database) {}

  /** Stores the event once by id; returns whether it still has to be forwarded. */
  async store(event: DomainEvent, now: number): Promise<boolean> {
    const [, row] = await this.db.batch<{ forwarded_at: number | null }>([
      this.db
        .prepare(
          `INSERT INTO events (id, type, source, subject, sequence, occurred_at, traceparent, envelope, stored_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
        )
        .bind(
          event.id,
          event.type,
          event.source,
          event.subject,
          event.sequence,
          // One canonical form (UTC, milliseconds), so that times compare as text in the filters,
          // the ordering, replay ranges and retention: "…:42Z" would sort after "…:42.250Z".
          new Date(event.occurredAt).toISOString(),
          event.traceparent,
          JSON.stringify(event),
          now,
        ),
      this.db.prepare("SELECT forwarded_at FROM events WHERE id = ?").bind(event.id),
    ]);
    return row?.results[0]?.forwarded_at === null;
  }

  async markForwarded(id: string, now: number): Promise<void> {
    await this.db.prepare("UPDATE events SET forwarded_at = ? WHERE id = ?").bind(now, id).run();
  }

  async stored(ids: readonly string[]): Promise<string[]> {
    const { results } = await this.db
      .prepare("SELECT id FROM events WHERE id IN (SELECT value FROM json_each(?))")
      .bind(JSON.stringify(ids))
      .all<{ id: string }>();
    return results.map((r) => r.id);
  }

  /** Retention: deletes up to `limit` events that occurred before `cutoff`. */
  async deleteOlderThan(cutoff: string, limit: number): Promise<number> {
    const result = await this.db
      .prepare("DELETE FROM events WHERE id IN (SELECT id FROM events WHERE occurred_at < ? LIMIT ?)")
      .bind(cutoff, limit)
      .run();
    return result.meta.changes;
  }

  /** The log, newest first, by (occurredAt, id). */
  async list(filter: {
    type?: EventType;
    subject?: string;
    from?: string;
    to?: string;
    limit: number;
    cursor?: [string, string];
  }): Promise<Page<unknown>> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.type) {
      where.push("type = ?");
      params.push(filter.type);
    }
    if (filter.subject) {
      where.push("subject = ?");
      params.push(filter.subject);
    }
    if (filter.from) {
      where.push("occurred_at >= ?");
      params.push(filter.from);
    }
    if (filter.to) {
      where.push("occurred_at <= ?");
      params.push(filter.to);
    }
    if (filter.cursor) {
      where.push("(occurred_at, id) < (?, ?)");
      params.push(...filter.cursor);
    }
    const { results } = await this.db
      .prepare(
        `SELECT id, occurred_at, envelope FROM events ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
         ORDER BY occurred_at DESC, id DESC LIMIT ?`,
      )
      .bind(...params, filter.limit + 1)
      .all<{ id: string; occurred_at: string; envelope: string }>();
    const page = results.slice(0, filter.limit);
    const last = page.at(-1);
    return {
      items: page.map((r) => JSON.parse(r.envelope) as unknown),
      nextCursor: results.length > filter.limit && last ? encodeCursor(last.occurred_at, last.id) : null,
    };
  }

  /** Events of `types` in [from, to], oldest first, after `after` (a (time, id) pair). */
  async range(
    types: readonly EventType[],
    from: string,
    to: string,
    after: [string, string] | null,
    limit: number,
  ): Promise<{ id: string; occurred_at: string; envelope: string }[]> {
    const { results } = await this.db
      .prepare(
        `SELECT id, occurred_at, envelope FROM events
         WHERE type IN (SELECT value FROM json_each(?)) AND occurred_at >= ? AND occurred_at <= ?
           AND (occurred_at, id) > (?, ?)
         ORDER BY occurred_at, id LIMIT ?`,
      )
      .bind(JSON.stringify(types), from, to, after?.[0] ?? "", after?.[1] ?? "", limit)
      .all<{ id: string; occurred_at: string; envelope: string }>();
    return results;
  }

  /** Records a dead letter once per (queue, message id). */
  async recordDeadLetter(input: DeadLetterInput, now: string): Promise<void> {
    await this.db
      .prepare(
        `INSERT INTO dead_letters (id, queue, message_id, reason, attempts, body, failed_at)
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (queue, message_id) DO NOTHING`,
      )
      .bind(newId("dlt"), input.queue, input.messageId, input.reason, input.attempts, bodyText(input.body), now)
      .run();
  }

  async listDeadLetters(filter: {
    queue?: string;
    state?: "waiting" | "redriven";
    limit: number;
    cursor?: [string, string];
  }): Promise<Page<DeadLetter>> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.queue) {
      where.push("queue = ?");
      params.push(filter.queue);
    }
    if (filter.state) where.push(filter.state === "waiting" ? "redriven_at IS NULL" : "redriven_at IS NOT NULL");
    if (filter.cursor) {
      where.push("(failed_at, id) < (?, ?)");
      params.push(...filter.cursor);
    }
    const { results } = await this.db
      .prepare(
        `SELECT * FROM dead_letters ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
         ORDER BY failed_at DESC, id DESC LIMIT ?`,
      )
      .bind(...params, filter.limit + 1)
      .all<DeadLetterRow>();
    const page = results.slice(0, filter.limit);
    const last = page.at(-1);
    return {
      items: page.map(toDeadLetter),
      nextCursor: results.length > filter.limit && last ? encodeCursor(last.failed_at, last.id) : null,
    };
  }

  /** Waiting dead letters: these ids, or (without ids) the oldest `limit`. */
  /** How many dead letters wait for a redrive (operations metrics and alerts). */
  async countWaitingDeadLetters(): Promise<number> {
    const row = await this.db
      .prepare("SELECT COUNT(*) AS n FROM dead_letters WHERE redriven_at IS NULL")
      .first<{ n: number }>();
    return row?.n ?? 0;
  }

  async waitingDeadLetters(ids: readonly string[] | undefined, limit: number): Promise<DeadLetter[]> {
    const statement = ids
      ? this.db
          .prepare(
            "SELECT * FROM dead_letters WHERE redriven_at IS NULL AND id IN (SELECT value FROM json_each(?)) ORDER BY failed_at, id",
          )
          .bind(JSON.stringify(ids))
      : this.db
          .prepare("SELECT * FROM dead_letters WHERE redriven_at IS NULL ORDER BY failed_at, id LIMIT ?")
          .bind(limit);
    const { results } = await statement.all<DeadLetterRow>();
    return results.map(toDeadLetter);
  }

  /** Marks a dead letter redriven; false if another redrive got it first. */
  async claimRedrive(id: string, now: string): Promise<boolean> {
    const result = await this.db
      .prepare("UPDATE dead_letters SET redriven_at = ? WHERE id = ? AND redriven_at IS NULL")
      .bind(now, id)
      .run();
    return result.meta.changes === 1;
  }

  async unclaimRedrive(id: string): Promise<void> {
    await this.db.prepare("UPDATE dead_letters SET redriven_at = NULL WHERE id = ?").bind(id).run();
  }
}
