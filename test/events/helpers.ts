import { createExecutionContext, createMessageBatch, getQueueResult, type QueueResult } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { vi } from "vitest";
import type { Envelope, EventType } from "#shared/contracts/events";
import { newId } from "#shared/ids";
import EventsService from "../../workers/events/src/index";
import { EVENT_WAIT } from "../support/event-log";
import { asMessages, type Delivery } from "../support/queue-batch";

/**
 * Helpers for the shop-events tests: envelopes as producers send them, batches handed to the
 * Worker's own queue handler (`EventsService#queue`) as the queue would, the admin app called as
 * the gateway forwards to it, and what the subscriber stand-in received on `shop-notifications`.
 */

/** An envelope as producers send it (the contract's type). */
export type TestEnvelope<T extends EventType = EventType> = Envelope<T>;

const hex = (bytes: number) =>
  [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");

export const newTraceparent = () => `00-${hex(16)}-${hex(8)}-01`;

/** A user.created for a new user (notifications subscribes to it). */
export function userCreated(options: { occurredAt?: string; userId?: string } = {}): TestEnvelope<"user.created"> {
  const userId = options.userId ?? newId("usr");
  return {
    id: newId("evt"),
    type: "user.created",
    version: 1,
    occurredAt: options.occurredAt ?? new Date().toISOString(),
    source: "shop-users",
    subject: userId,
    sequence: 1,
    traceparent: newTraceparent(),
    data: { userId, email: `${userId}@example.com`, name: "Ada", phone: null, role: "customer" },
  };
}

/** A product.created (nobody subscribes to it). */
export function productCreated(options: { occurredAt?: string } = {}): TestEnvelope<"product.created"> {
  const productId = newId("prd");
  return {
    id: newId("evt"),
    type: "product.created",
    version: 1,
    occurredAt: options.occurredAt ?? new Date().toISOString(),
    source: "shop-catalog",
    subject: productId,
    sequence: 1,
    traceparent: newTraceparent(),
    data: { productId, name: "Mug", priceCents: 1200, currency: "EUR", stock: 5 },
  };
}

/** An order.confirmed (notifications subscribes to it). */
export function orderConfirmed(options: { occurredAt?: string } = {}): TestEnvelope<"order.confirmed"> {
  const orderId = newId("ord");
  return {
    id: newId("evt"),
    type: "order.confirmed",
    version: 1,
    occurredAt: options.occurredAt ?? new Date().toISOString(),
    source: "shop-orders",
    subject: orderId,
    sequence: 2,
    traceparent: newTraceparent(),
    data: { orderId, userId: newId("usr"), totalCents: 1200, currency: "EUR" },
  };
}

export { asMessages, type Delivery } from "../support/queue-batch";

/** Hands one batch from `queue` to the Worker's queue handler; returns what it acked and retried. */
export async function deliver(queue: string, messages: Delivery[]): Promise<QueueResult> {
  const batch = createMessageBatch(
    queue,
    messages.map((m) => ({ id: m.id, timestamp: new Date(), attempts: m.attempts ?? 1, body: m.body })),
  );
  const ctx = createExecutionContext();
  await new EventsService(ctx, env).queue(batch);
  return getQueueResult(batch, ctx);
}

export const acked = (result: QueueResult) => [...result.explicitAcks].sort();
export const idsOf = (messages: Delivery[]) => messages.map((m) => m.id).sort();

export async function storedCount(eventId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM events WHERE id = ?")
    .bind(eventId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

export async function forwardedAt(eventId: string): Promise<number | null | undefined> {
  const row = await env.DB.prepare("SELECT forwarded_at FROM events WHERE id = ?")
    .bind(eventId)
    .first<{ forwarded_at: number | null }>();
  return row?.forwarded_at;
}

/** How many messages carrying this event the subscriber stand-in has received so far. */
export async function receivedCount(eventId: string): Promise<number> {
  const row = await env.SUBSCRIBER_DB.prepare("SELECT count(*) AS n FROM received WHERE event_id = ?")
    .bind(eventId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** Waits until the subscriber received the event `count` times, then a moment more for extras. */
export async function settledReceived(eventId: string, count: number): Promise<number> {
  if (count > 0) {
    await vi.waitFor(async () => {
      if ((await receivedCount(eventId)) < count) throw new Error(`fewer than ${count} received`);
    }, EVENT_WAIT);
  }
  await new Promise((resolve) => setTimeout(resolve, 1500));
  return receivedCount(eventId);
}

/** How many messages carrying each of these events the subscriber stand-in has received so far. */
export async function receivedCounts(eventIds: readonly string[]): Promise<Map<string, number>> {
  const { results } = await env.SUBSCRIBER_DB.prepare(
    "SELECT event_id, count(*) AS n FROM received WHERE event_id IN (SELECT value FROM json_each(?)) GROUP BY event_id",
  )
    .bind(JSON.stringify(eventIds))
    .all<{ event_id: string; n: number }>();
  return new Map(eventIds.map((id) => [id, results.find((r) => r.event_id === id)?.n ?? 0]));
}

/** Waits until the subscriber received each of these events `count` times, then a moment more. */
export async function settledReceivedAll(eventIds: readonly string[], count: number): Promise<Map<string, number>> {
  await vi.waitFor(
    async () => {
      const counts = await receivedCounts(eventIds);
      if ([...counts.values()].some((n) => n < count)) throw new Error(`some received fewer than ${count} times`);
    },
    { timeout: 20_000, interval: 200 },
  );
  await new Promise((resolve) => setTimeout(resolve, 1500));
  return receivedCounts(eventIds);
}

/** Writes an event straight into the log (already forwarded), as if stored long ago. */
export async function insertStored(event: TestEnvelope): Promise<void> {
  await env.DB.prepare(
    `INSERT INTO events (id, type, source, subject, sequence, occurred_at, traceparent, envelope, stored_at, forwarded_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  )
    .bind(
      event.id,
      event.type,
      event.source,
      event.subject,
      event.sequence,
      event.occurredAt,
      event.traceparent,
      JSON.stringify(event),
      0,
      0,
    )
    .run();
}

export async function deadLettersOf(messageId: string) {
  const { results } = await env.DB.prepare("SELECT * FROM dead_letters WHERE message_id = ?")
    .bind(messageId)
    .all<{ id: string; queue: string; reason: string; attempts: number; body: string; redriven_at: string | null }>();
  return results;
}

export const ADMIN = { userId: "usr_01jd0000000000000000000000", role: "admin" } as const;
export const CUSTOMER = { userId: "usr_01jd0000000000000000000001", role: "customer" } as const;

/** One request to the admin app of shop-events, as the gateway forwards it. */
export function call(
  path: string,
  options: { as?: { userId: string; role: "admin" | "customer" }; json?: unknown } = {},
): Promise<Response> {
  const headers = new Headers();
  if (options.as) {
    headers.set("x-shop-user-id", options.as.userId);
    headers.set("x-shop-user-role", options.as.role);
  }
  if (options.json !== undefined) headers.set("content-type", "application/json");
  return exports.default.fetch(
    new Request(`https://events${path}`, {
      method: options.json === undefined ? "GET" : "POST",
      headers,
      ...(options.json === undefined ? {} : { body: JSON.stringify(options.json) }),
    }),
  );
}

/** Stores events in the log as the bus does (through the queue handler). */
export async function store(...events: TestEnvelope[]): Promise<void> {
  await deliver("shop-events", asMessages(...events));
}
