import { createExecutionContext, createMessageBatch, getQueueResult, type QueueResult } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import type { Envelope, EventData, EventType } from "#shared/contracts/events";
import { newId } from "#shared/ids";
import NotificationsService from "../../workers/notifications/src/index";
import type { Delivery } from "../support/queue-batch";

/**
 * Helpers for the shop-notifications tests. Events are built as shop-events forwards them; the
 * queue handler is the Worker's own (`NotificationsService#queue`), called with batches made by
 * `createMessageBatch`, so the tests see which messages it acked and which it retried.
 */

export const QUEUE = "shop-notifications";

/** An envelope as producers send it (the contract's type). */
export type TestEnvelope<T extends EventType = EventType> = Envelope<T>;

const hex = (bytes: number) =>
  [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");

export const newTraceparent = () => `00-${hex(16)}-${hex(8)}-01`;

export function envelope<T extends EventType>(
  type: T,
  data: EventData<T>,
  options: { subject: string; sequence?: number; traceparent?: string | null; id?: string },
): TestEnvelope<T> {
  return {
    id: options.id ?? newId("evt"),
    type,
    version: 1,
    occurredAt: new Date().toISOString(),
    source: type.startsWith("user.") ? "shop-users" : "shop-orders",
    subject: options.subject,
    sequence: options.sequence ?? 1,
    traceparent: options.traceparent === undefined ? newTraceparent() : options.traceparent,
    data,
  };
}

export interface TestUser {
  userId: string;
  email: string;
  name: string;
  phone: string | null;
}

export function newUser(options: { phone?: string | null } = {}): TestUser {
  const userId = newId("usr");
  return {
    userId,
    email: `${userId}@example.com`,
    name: "Ada",
    phone: options.phone === undefined ? "+14155550123" : options.phone,
  };
}

export const userCreated = (user: TestUser, traceparent?: string | null) =>
  envelope("user.created", { ...user, role: "customer" }, { subject: user.userId, sequence: 1, traceparent });

export const userUpdated = (user: TestUser, sequence: number) =>
  envelope("user.updated", { ...user, role: "customer" }, { subject: user.userId, sequence });

export const orderConfirmed = (user: TestUser, orderId: string = newId("ord")) =>
  envelope(
    "order.confirmed",
    { orderId, userId: user.userId, totalCents: 1999, currency: "EUR" },
    { subject: orderId, sequence: 2 },
  );

export { asMessages, type Delivery } from "../support/queue-batch";

/**
 * Hands one batch to the Worker's queue handler, as the queue would; returns what it settled.
 * The plugin's `getQueueResult` (1.5.0) drops the delay a message was retried with, so each
 * message's `retry` is observed here and the delay put back into `retryMessages`.
 */
export async function deliver(messages: Delivery[]): Promise<QueueResult> {
  const batch = createMessageBatch(
    QUEUE,
    messages.map((m) => ({ id: m.id, timestamp: new Date(), attempts: m.attempts ?? 1, body: m.body })),
  );
  const delays = new Map<string, number | undefined>();
  for (const message of batch.messages) {
    const retry = message.retry.bind(message);
    message.retry = (options?: QueueRetryOptions) => {
      delays.set(message.id, options?.delaySeconds);
      retry(options);
    };
  }
  const ctx = createExecutionContext();
  await new NotificationsService(ctx, env).queue(batch);
  const result = await getQueueResult(batch, ctx);
  return {
    ...result,
    retryMessages: result.retryMessages.map((r) => ({ msgId: r.msgId, delaySeconds: delays.get(r.msgId) })),
  };
}

export interface NotificationRow {
  id: string;
  user_id: string;
  channel: "email" | "sms";
  template: string;
  to_address: string;
  subject: string | null;
  body: string;
  event_id: string;
  order_id: string | null;
  traceparent: string | null;
  sent_at: string | null;
  claimed_until: number | null;
  failed_at: string | null;
  failure: string | null;
}

export async function notificationsOfEvent(eventId: string): Promise<NotificationRow[]> {
  const { results } = await env.DB.prepare("SELECT * FROM notifications WHERE event_id = ? ORDER BY channel")
    .bind(eventId)
    .all<NotificationRow>();
  return results;
}

export async function notificationsOfUser(userId: string): Promise<NotificationRow[]> {
  const { results } = await env.DB.prepare("SELECT * FROM notifications WHERE user_id = ? ORDER BY channel")
    .bind(userId)
    .all<NotificationRow>();
  return results;
}

/** How many times the local sender was called for each of these notifications. */
export async function deliveryCounts(notificationIds: string[]): Promise<Record<string, number>> {
  const { results } = await env.DB.prepare(
    `SELECT notification_id, count(*) AS n FROM deliveries
     WHERE notification_id IN (SELECT value FROM json_each(?)) GROUP BY notification_id`,
  )
    .bind(JSON.stringify(notificationIds))
    .all<{ notification_id: string; n: number }>();
  return Object.fromEntries(notificationIds.map((id) => [id, results.find((r) => r.notification_id === id)?.n ?? 0]));
}

export async function inboxHas(eventId: string): Promise<boolean> {
  return (await env.DB.prepare("SELECT 1 FROM inbox WHERE event_id = ?").bind(eventId).first()) !== null;
}

export async function contactOf(userId: string) {
  return env.DB.prepare("SELECT user_id, email, name, phone, role, sequence FROM contacts WHERE user_id = ?")
    .bind(userId)
    .first<{ user_id: string; email: string; name: string; phone: string | null; role: string; sequence: number }>();
}

/** One request to the notifications HTTP app, as the gateway forwards it. */
export function call(
  path: string,
  as?: { userId: string; role?: "customer" | "admin" },
  headers: HeadersInit = {},
): Promise<Response> {
  const sent = new Headers(headers);
  if (as) {
    sent.set("x-shop-user-id", as.userId);
    sent.set("x-shop-user-role", as.role ?? "customer");
  }
  return exports.default.fetch(new Request(`https://notifications${path}`, { headers: sent }));
}
