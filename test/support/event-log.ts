import { expect, vi } from "vitest";

/**
 * What the events tests of every producing service read: the log shop-events keeps (events-db),
 * and the service's own outbox and sequences. Bound to a project's databases by `eventLog`.
 */

/** An event as shop-events stored it in its log. */
export interface LoggedEvent {
  id: string;
  type: string;
  version: number;
  occurredAt: string;
  source: string;
  subject: string;
  sequence: number;
  traceparent: string | null;
  data: Record<string, unknown>;
}

export interface OutboxRow {
  id: string;
  type: string;
  sequence: number;
  envelope: string;
  sent_at: number | null;
}

/** How long a test waits for an event to reach the log (the queue's batch timeout is 1 s; CI is slow). */
export const EVENT_WAIT = { timeout: 10_000, interval: 100 } as const;

export function eventLog(databases: { db: D1Database; eventsDb: D1Database }) {
  const { db, eventsDb } = databases;

  /** The events the log holds for a subject, in sequence order. */
  async function loggedEvents(subject: string): Promise<LoggedEvent[]> {
    const { results } = await eventsDb
      .prepare("SELECT envelope FROM events WHERE subject = ? ORDER BY sequence")
      .bind(subject)
      .all<{ envelope: string }>();
    return results.map((r) => JSON.parse(r.envelope) as LoggedEvent);
  }

  /** Waits (the queue's batch timeout is 1 s) until the log holds `count` events for the subject. */
  function waitForLogged(subject: string, count: number): Promise<LoggedEvent[]> {
    return vi.waitFor(async () => {
      const events = await loggedEvents(subject);
      expect(events).toHaveLength(count);
      return events;
    }, EVENT_WAIT);
  }

  /** The outbox rows of a subject, sent or not, in sequence order. */
  async function outboxRows(subject: string): Promise<OutboxRow[]> {
    const { results } = await db
      .prepare("SELECT id, type, sequence, envelope, sent_at FROM outbox WHERE subject = ? ORDER BY sequence")
      .bind(subject)
      .all<OutboxRow>();
    return results;
  }

  /** The last sequence a subject's events reached (kept after the rows are deleted); null before any. */
  async function lastSequence(subject: string): Promise<number | null> {
    const row = await db
      .prepare("SELECT last FROM event_sequences WHERE subject = ?")
      .bind(subject)
      .first<{ last: number }>();
    return row?.last ?? null;
  }

  return { loggedEvents, waitForLogged, outboxRows, lastSequence };
}
