import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  admin,
  call,
  createProduct,
  customer,
  eventually,
  freshKey,
  insertPendingOrder,
  orderAtRest,
  placeOrder,
  postOrder,
  setFaults,
} from "./helpers";

/** The orders sweep (stranded sagas) and the outbox relay, each one pass, now. */
async function sweep(): Promise<void> {
  await env.SWEEPER.getByName("sweeper").sweep();
  await env.OUTBOX_RELAY.getByName("outbox").sweep({ resendAfterMs: 0 });
}

/**
 * shop-orders' events through its outbox and the real shop-events queue into the real log: each
 * order change raises its event once, in order, with the trace of the request that placed the
 * order, including the changes the saga makes later and the events of the services it calls.
 */

interface Logged {
  id: string;
  type: string;
  source: string;
  subject: string;
  sequence: number;
  traceparent: string | null;
  actor?: { type: string; id: string };
  data: Record<string, unknown>;
}

async function eventsOf(subject: string): Promise<Logged[]> {
  const { results } = await env.EVENTS_DB.prepare(
    "SELECT envelope FROM events WHERE subject = ? ORDER BY stored_at, id",
  )
    .bind(subject)
    .all<{ envelope: string }>();
  return results.map((r) => JSON.parse(r.envelope) as Logged);
}

const fromOrders = (events: Logged[]) =>
  events.filter((e) => e.source === "shop-orders").sort((a, b) => a.sequence - b.sequence);

/** Waits until the order's own events include `last`. */
function orderEventsUntil(orderId: string, last: string): Promise<Logged[]> {
  return eventually(
    `${last} of ${orderId} in the log`,
    async () => {
      const events = fromOrders(await eventsOf(orderId));
      return events.some((e) => e.type === last) ? events : undefined;
    },
    { timeoutMs: 10_000, intervalMs: 100 },
  );
}

const TRACE = "0af7651916cd43dd8448eb211c80319c";

describe("order events", () => {
  it("a completed order: created, confirmed, saga completed, in sequence, all with the placing request's trace", async () => {
    const product = await createProduct({ stock: 5, priceCents: 700 });
    const buyer = customer();
    const response = await call("/api/orders", {
      as: buyer,
      body: { items: [{ productId: product.id, quantity: 2 }] },
      headers: { "idempotency-key": freshKey(), traceparent: `00-${TRACE}-b7ad6b7169203331-01` },
    });
    expect(response.status).toBe(201);
    const order = (await response.json()) as { id: string };
    const events = await orderEventsUntil(order.id, "order.saga.completed");
    expect(events.map((e) => `${e.sequence}:${e.type}`)).toEqual([
      "1:order.created",
      "2:order.confirmed",
      "3:order.saga.completed",
    ]);
    expect(events[0]?.data).toEqual({
      orderId: order.id,
      userId: buyer.id,
      items: [{ productId: product.id, quantity: 2, unitPriceCents: 700 }],
      totalCents: 1400,
      currency: "EUR",
    });
    expect(events[1]?.data).toEqual({ orderId: order.id, userId: buyer.id, totalCents: 1400, currency: "EUR" });
    for (const event of events) expect(event.traceparent?.split("-")[1]).toBe(TRACE);
    // Every event of the order, the catalog's and payments' too (through the saga's RPC context),
    // names the placing user as its actor.
    const all = await eventsOf(order.id);
    expect(new Set(all.map((e) => e.source))).toEqual(new Set(["shop-orders", "shop-catalog", "shop-payments"]));
    for (const event of all) expect(event.actor, event.type).toEqual({ type: "user", id: buyer.id });
  });

  it("an order out of stock: created, cancelled with its reason, saga failed; never confirmed", async () => {
    const product = await createProduct({ stock: 1 });
    const { order } = await placeOrder(customer(), [{ productId: product.id, quantity: 2 }]);
    await orderAtRest(order.id);
    const events = await orderEventsUntil(order.id, "order.saga.failed");
    expect(events.map((e) => e.type)).toEqual(["order.created", "order.cancelled", "order.saga.failed"]);
    expect(events[1]?.data).toMatchObject({ reason: "out_of_stock" });
    expect(events[2]?.data).toMatchObject({ state: "cancelled", reason: "out_of_stock" });
  });

  it("a declined payment: order.cancelled says payment_declined", async () => {
    const product = await createProduct({ stock: 3 });
    await setFaults({ psp: { declineRate: 1 } });
    const { order } = await placeOrder(customer(), [{ productId: product.id, quantity: 1 }]);
    await orderAtRest(order.id);
    const events = await orderEventsUntil(order.id, "order.saga.failed");
    expect(events.find((e) => e.type === "order.cancelled")?.data).toMatchObject({ reason: "payment_declined" });
    expect(events.some((e) => e.type === "order.confirmed")).toBe(false);
  });

  it("cancel after confirmation, and ship: order.cancelled (by customer) and order.shipped with the tracking number", async () => {
    const product = await createProduct({ stock: 5 });
    const buyer = customer();
    const first = (await placeOrder(buyer, [{ productId: product.id, quantity: 1 }])).order;
    const second = (await placeOrder(buyer, [{ productId: product.id, quantity: 1 }])).order;
    expect((await call(`/api/orders/${first.id}/cancel`, { as: buyer, method: "POST" })).status).toBe(200);
    const operator = admin();
    const shipped = await call(`/api/orders/${second.id}/ship`, { as: operator, body: { trackingNumber: "TRK-42" } });
    expect(shipped.status).toBe(200);
    const cancelled = await orderEventsUntil(first.id, "order.cancelled");
    expect(cancelled.map((e) => e.type)).toEqual([
      "order.created",
      "order.confirmed",
      "order.saga.completed",
      "order.cancelled",
    ]);
    expect(cancelled[3]?.data).toMatchObject({ userId: buyer.id, reason: "cancelled_by_customer" });
    const shippedEvents = await orderEventsUntil(second.id, "order.shipped");
    expect(shippedEvents.at(-1)).toMatchObject({
      sequence: 4,
      data: { orderId: second.id, userId: buyer.id, trackingNumber: "TRK-42" },
      actor: { type: "admin", id: operator.id },
    });
    expect(cancelled[3]?.actor).toEqual({ type: "user", id: buyer.id });
    // Refused changes raise nothing: shipping the cancelled order, cancelling the shipped one.
    expect((await call(`/api/orders/${first.id}/ship`, { as: admin(), body: {} })).status).toBe(409);
    expect((await call(`/api/orders/${second.id}/cancel`, { as: buyer, method: "POST" })).status).toBe(409);
    await sweep();
    expect(fromOrders(await eventsOf(first.id))).toHaveLength(4);
    expect(fromOrders(await eventsOf(second.id))).toHaveLength(4);
  });

  it("an Idempotency-Key replay and 5 concurrent duplicates of one request raise one order.created", async () => {
    const product = await createProduct({ stock: 10 });
    const buyer = customer();
    const key = freshKey();
    const responses = await Promise.all(
      Array.from({ length: 5 }, () => postOrder(buyer, [{ productId: product.id, quantity: 1 }], key)),
    );
    const created = responses.filter((r) => r.status === 201 || r.status === 202);
    expect(created.length).toBeGreaterThan(0);
    const first = created[0];
    if (!first) throw new Error("no order was created");
    const { id } = (await first.json()) as { id: string };
    await postOrder(buyer, [{ productId: product.id, quantity: 1 }], key);
    const events = await orderEventsUntil(id, "order.saga.completed");
    expect(events.filter((e) => e.type === "order.created")).toHaveLength(1);
    const { results } = await env.EVENTS_DB.prepare(
      "SELECT count(*) AS n FROM events WHERE type = 'order.created' AND json_extract(envelope, '$.data.userId') = ?",
    )
      .bind(buyer.id)
      .all<{ n: number }>();
    expect(results[0]?.n).toBe(1);
  });

  it("an order stored by a request that died before starting its saga: the sweep's saga raises its events too", async () => {
    const product = await createProduct({ stock: 5 });
    const orderId = await insertPendingOrder(customer().id, product, 1, 60_000);
    await sweep();
    await orderAtRest(orderId);
    const events = await orderEventsUntil(orderId, "order.saga.completed");
    expect(events.map((e) => e.type)).toEqual(["order.created", "order.confirmed", "order.saga.completed"]);
    // The saga acts for the order's user even when the sweep (the system) started it.
    expect(events[1]?.actor).toMatchObject({ type: "user" });
  });
});
