import type { ConsumerFaultSpec, ConsumerFaults } from "#shared/contracts/faults";
import type { Notification } from "#shared/contracts/notifications";
import { encodeCursor } from "#shared/cursor";
import { newId } from "#shared/ids";
import type { Outgoing } from "./sender";
import type { Channel, Contact, Message } from "./templates";

/** All SQL of shop-notifications: prepared statements with bound parameters only. */

/** A contact with the sequence of the user event it was last updated from. */
export interface StoredContact extends Contact {
  sequence: number;
}

/** What a user event says about its user, to upsert into the directory. */
export interface ContactUpdate extends Contact {
  role: string;
  sequence: number;
}

export interface EventRecord {
  event: { id: string; type: string; traceparent: string | null };
  /** The user the messages are for. */
  userId: string;
  orderId: string | null;
  /** For user.* events: the directory entry they carry. */
  contact?: ContactUpdate;
  messages: Message[];
}

interface NotificationRow {
  id: string;
  channel: Channel;
  template: string;
  to_address: string;
  subject: string | null;
  body: string;
  event_id: string;
  order_id: string | null;
  traceparent: string | null;
  created_at: string;
  sent_at: string | null;
  failed_at: string | null;
}

function toNotification(row: NotificationRow): Notification {
  return {
    id: row.id,
    channel: row.channel,
    template: row.template,
    to: row.to_address,
    ...(row.subject === null ? {} : { subject: row.subject }),
    body: row.body,
    eventId: row.event_id,
    ...(row.order_id === null ? {} : { orderId: row.order_id }),
    createdAt: row.created_at,
    sentAt: row.sent_at,
    ...(row.failed_at === null ? {} : { failedAt: row.failed_at }),
  };
}

export class NotificationsRepository {
  constructor(private readonly db: D1Database) {}

  async contact(userId: string): Promise<StoredContact | undefined> {
    const row = await this.db
      .prepare("SELECT user_id, email, name, phone, sequence FROM contacts WHERE user_id = ?")
      .bind(userId)
      .first<{ user_id: string; email: string; name: string; phone: string | null; sequence: number }>();
    return row
      ? { userId: row.user_id, email: row.email, name: row.name, phone: row.phone, sequence: row.sequence }
      : undefined;
  }

  /** Whether the inbox has this event (it was recorded before). */
  async seen(eventId: string): Promise<boolean> {
    const row = await this.db.prepare("SELECT 1 AS seen FROM inbox WHERE event_id = ?").bind(eventId).first();
    return row !== null;
  }

  /**
   * An event's whole effect in one transaction: its inbox row, its directory update (applied only
   * if newer than what the directory has) and its messages, each at most once per channel
   * however many deliveries record it at the same time.
   */
  async record(record: EventRecord, now: number): Promise<void> {
    const at = new Date(now).toISOString();
    const { event, contact } = record;
    const statements = [
      this.db
        .prepare("INSERT INTO inbox (event_id, type, processed_at) VALUES (?, ?, ?) ON CONFLICT (event_id) DO NOTHING")
        .bind(event.id, event.type, now),
    ];
    if (contact) {
      statements.push(
        this.db
          .prepare(
            `INSERT INTO contacts (user_id, email, name, phone, role, sequence, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (user_id) DO UPDATE SET email = excluded.email, name = excluded.name, phone = excluded.phone,
               role = excluded.role, sequence = excluded.sequence, updated_at = excluded.updated_at
             WHERE excluded.sequence > contacts.sequence`,
          )
          .bind(contact.userId, contact.email, contact.name, contact.phone, contact.role, contact.sequence, at),
      );
    }
    for (const message of record.messages) {
      statements.push(
        this.db
          .prepare(
            `INSERT INTO notifications (id, user_id, channel, template, to_address, subject, body, event_id, order_id,
               traceparent, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id, channel) DO NOTHING`,
          )
          .bind(
            newId("ntf", now),
            record.userId,
            message.channel,
            message.template,
            message.to,
            message.subject,
            message.body,
            event.id,
            record.orderId,
            event.traceparent,
            at,
          ),
      );
    }
    await this.db.batch(statements);
  }

  /** The event's messages not sent yet. */
  async unsent(eventId: string): Promise<Outgoing[]> {
    const { results } = await this.db
      .prepare(
        `SELECT id, channel, to_address, subject, body, traceparent FROM notifications
         WHERE event_id = ? AND sent_at IS NULL AND failed_at IS NULL ORDER BY channel`,
      )
      .bind(eventId)
      .all<{
        id: string;
        channel: Channel;
        to_address: string;
        subject: string | null;
        body: string;
        traceparent: string | null;
      }>();
    return results.map((r) => ({
      notificationId: r.id,
      channel: r.channel,
      to: r.to_address,
      subject: r.subject,
      body: r.body,
      traceparent: r.traceparent,
    }));
  }

  /**
   * Claims an unsent message until `until` (epoch ms) in one conditional write: of any number of
   * deliveries trying at once, only the one whose write changed the row sends. A claim whose
   * holder vanished expires, so the message is never stuck.
   */
  async claim(notificationId: string, until: number, now: number): Promise<boolean> {
    const result = await this.db
      .prepare(
        `UPDATE notifications SET claimed_until = ?
         WHERE id = ? AND sent_at IS NULL AND (claimed_until IS NULL OR claimed_until < ?)`,
      )
      .bind(until, notificationId, now)
      .run();
    return result.meta.changes === 1;
  }

  /**
   * For a message that must go at most once (SMS): claims it and records it as sent in one
   * conditional write, before the send. Whatever happens afterwards, no delivery sends it again.
   */
  async claimAsSent(notificationId: string, now: number): Promise<boolean> {
    const result = await this.db
      .prepare(
        `UPDATE notifications SET sent_at = ?, claimed_until = NULL
         WHERE id = ? AND sent_at IS NULL AND failed_at IS NULL AND (claimed_until IS NULL OR claimed_until < ?)`,
      )
      .bind(new Date(now).toISOString(), notificationId, now)
      .run();
    return result.meta.changes === 1;
  }

  /** An at-most-once message whose send failed after its claim: recorded, never retried. */
  async markFailed(notificationId: string, now: number, reason: string): Promise<void> {
    await this.db
      .prepare("UPDATE notifications SET sent_at = NULL, claimed_until = NULL, failed_at = ?, failure = ? WHERE id = ?")
      .bind(new Date(now).toISOString(), reason.slice(0, 500), notificationId)
      .run();
  }

  async markSent(notificationId: string, now: number): Promise<void> {
    await this.db
      .prepare("UPDATE notifications SET sent_at = ?, claimed_until = NULL WHERE id = ? AND sent_at IS NULL")
      .bind(new Date(now).toISOString(), notificationId)
      .run();
  }

  /** Gives a claim back after a failed send, so the next delivery may try at once. */
  async release(notificationId: string): Promise<void> {
    await this.db
      .prepare("UPDATE notifications SET claimed_until = NULL WHERE id = ? AND sent_at IS NULL")
      .bind(notificationId)
      .run();
  }

  /** The local sender's record of one send call. */
  async recordDelivery(message: Outgoing, now: number): Promise<void> {
    await this.db
      .prepare(
        "INSERT INTO deliveries (notification_id, channel, to_address, subject, body, delivered_at) VALUES (?, ?, ?, ?, ?, ?)",
      )
      .bind(
        message.notificationId,
        message.channel,
        message.to,
        message.subject,
        message.body,
        new Date(now).toISOString(),
      )
      .run();
  }

  /** A page of one user's messages, newest first. */
  async list(options: {
    userId: string;
    limit: number;
    cursor?: [string, string];
  }): Promise<{ items: Notification[]; nextCursor: string | null }> {
    const after = options.cursor ? "AND (created_at < ? OR (created_at = ? AND id < ?))" : "";
    const params = options.cursor ? [options.cursor[0], options.cursor[0], options.cursor[1]] : [];
    const { results } = await this.db
      .prepare(
        `SELECT id, channel, template, to_address, subject, body, event_id, order_id, traceparent, created_at, sent_at,
           failed_at
         FROM notifications WHERE user_id = ? ${after} ORDER BY created_at DESC, id DESC LIMIT ?`,
      )
      .bind(options.userId, ...params, options.limit + 1)
      .all<NotificationRow>();
    const page = results.slice(0, options.limit);
    const last = page[page.length - 1];
    return {
      items: page.map(toNotification),
      nextCursor: results.length > options.limit && last ? encodeCursor(last.created_at, last.id) : null,
    };
  }

  /** Deletes up to `limit` inbox rows processed before `cutoff` (epoch ms); returns how many. */
  async deleteInboxBefore(cutoff: number, limit: number): Promise<number> {
    const result = await this.db
      .prepare(
        "DELETE FROM inbox WHERE event_id IN (SELECT event_id FROM inbox WHERE processed_at < ? ORDER BY processed_at LIMIT ?)",
      )
      .bind(cutoff, limit)
      .run();
    return result.meta.changes;
  }

  /** Injected faults of the consumer (development only). */
  async consumerFaults(): Promise<ConsumerFaults> {
    const rows = await this.db
      .prepare("SELECT target, spec FROM faults")
      .all<{ target: "notifications"; spec: string }>();
    return Object.fromEntries(rows.results.map((r) => [r.target, JSON.parse(r.spec) as ConsumerFaultSpec]));
  }

  /** Each target given replaces its spec; a zero rate (or `{}`) clears it. */
  async updateConsumerFaults(update: ConsumerFaults, now: string): Promise<ConsumerFaults> {
    const statements = Object.entries(update).map(([target, spec]) =>
      (spec?.errorRate ?? 0) > 0
        ? this.db
            .prepare(
              "INSERT INTO faults (target, spec, updated_at) VALUES (?, ?, ?) ON CONFLICT (target) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at",
            )
            .bind(target, JSON.stringify(spec), now)
        : this.db.prepare("DELETE FROM faults WHERE target = ?").bind(target),
    );
    if (statements.length > 0) await this.db.batch(statements);
    return this.consumerFaults();
  }
}
