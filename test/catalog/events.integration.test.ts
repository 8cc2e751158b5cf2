import { runDurableObjectAlarm } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { parseEvent } from "#shared/contracts/events";
import { CatalogRepository } from "../../workers/catalog/src/repository";
import { EVENT_WAIT } from "../support/event-log";
import {
  admin,
  call,
  createProduct,
  customer,
  expectFailure,
  lastSequence,
  loggedEvents,
  newOrderId,
  outboxRows,
  runDevSeed,
  stockOf,
  testOutbox,
  UNKNOWN_PRODUCT_ID,
  waitForLogged,
} from "./helpers";

/**
 * shop-catalog's events through the transactional outbox: each change is written with its event in
 * one batch, under the condition that this call made the change, sent to the real shop-events
 * queue after the commit and stored once in the real log (events-db). `event_sequences` counts
 * every event a subject ever committed, so "raised nothing" is checked there at once, and again in
 * the log once a later event of the same subject arrived.
 */

const catalog = exports.default;
const relay = () => env.OUTBOX_RELAY.getByName("outbox");

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;
/** An RPC handler is a child span of its caller: events carry the caller's trace id and a span id of their own. */
const CHILD_SPAN = expect.stringMatching(new RegExp(`^00-${TRACE_ID}-(?!00f067aa0ba902b7)[0-9a-f]{16}-01$`));

const times = <T>(n: number, run: () => T) => Promise.all(Array.from({ length: n }, run));

/** Two products (stock 10 and 5) and the lines of an order for 3 and 2 of them, sorted by product. */
async function twoProducts() {
  const a = await createProduct({ stock: 10 });
  const b = await createProduct({ stock: 5 });
  const lines = [
    { productId: a.id, quantity: 3 },
    { productId: b.id, quantity: 2 },
  ];
  return { a: a.id, b: b.id, lines, sorted: [...lines].sort((x, y) => x.productId.localeCompare(y.productId)) };
}

/** An order holding 3 and 2 of two products. */
async function reservedOrder() {
  const products = await twoProducts();
  const orderId = newOrderId();
  expect(await catalog.reserve(orderId, products.lines)).toEqual({ ok: true, value: { state: "reserved" } });
  return { ...products, orderId };
}

/** Every logged event is a valid envelope of shop-catalog (parsed as a consumer parses it). */
function expectValid(events: readonly unknown[]): void {
  for (const event of events) {
    const parsed = parseEvent(event);
    expect(parsed.ok, JSON.stringify(parsed)).toBe(true);
    expect(event).toMatchObject({ source: "shop-catalog", version: 1 });
  }
}

const typesAndSequences = (events: readonly { type: string; sequence: number }[]) =>
  events.map((e) => `${e.sequence}:${e.type}`);

describe("product events", () => {
  it("creating a product raises product.created with its data and the request's trace", async () => {
    const response = await call("/api/products", {
      as: admin(),
      body: { name: "Traced mug", priceCents: 1234, currency: "USD", stock: 7 },
      headers: { traceparent: TRACEPARENT },
    });
    expect(response.status).toBe(201);
    const { id } = (await response.json()) as { id: string };

    const events = await waitForLogged(id, 1);

    expectValid(events);
    expect(events[0]).toMatchObject({
      type: "product.created",
      subject: id,
      sequence: 1,
      data: { productId: id, name: "Traced mug", priceCents: 1234, currency: "USD", stock: 7 },
    });
    // The service's own span of the caller's trace.
    expect(events[0]?.traceparent).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));
  });

  it("patch and restock raise product.updated with the committed state and the next sequences", async () => {
    const product = await createProduct({ name: "Before", priceCents: 1000, stock: 10 });
    // Stock held by an order shows in `available` of the next product.updated.
    expect(await catalog.reserve(newOrderId(), [{ productId: product.id, quantity: 4 }])).toMatchObject({ ok: true });
    expect(
      (
        await call(`/api/products/${product.id}`, {
          method: "PATCH",
          as: admin(),
          body: { name: "After", priceCents: 1500 },
        })
      ).status,
    ).toBe(200);
    expect((await call(`/api/products/${product.id}/restock`, { as: admin(), body: { quantity: 5 } })).status).toBe(
      200,
    );

    const events = await waitForLogged(product.id, 3);

    expectValid(events);
    expect(typesAndSequences(events)).toEqual(["1:product.created", "2:product.updated", "3:product.updated"]);
    expect(events[1]?.data).toEqual({
      productId: product.id,
      name: "After",
      priceCents: 1500,
      currency: "EUR",
      available: 6,
      stocked: 10,
    });
    expect(events[2]?.data).toEqual({
      productId: product.id,
      name: "After",
      priceCents: 1500,
      currency: "EUR",
      available: 11,
      stocked: 15,
    });
  });

  it("refused or invalid changes raise nothing", async () => {
    const product = await createProduct();
    const patch = (body: unknown, as = admin(), id = product.id) =>
      call(`/api/products/${id}`, { method: "PATCH", as, body });

    expect((await patch({ priceCents: -1 })).status).toBe(400);
    expect((await patch({ unknown: 1 })).status).toBe(400);
    expect((await patch({ name: "Mine" }, customer())).status).toBe(403);
    expect((await patch({ name: "Nobody" }, admin(), UNKNOWN_PRODUCT_ID)).status).toBe(404);
    expect((await call(`/api/products/${product.id}/restock`, { as: admin(), body: { quantity: 0 } })).status).toBe(
      400,
    );
    expect(
      (await call(`/api/products/${UNKNOWN_PRODUCT_ID}/restock`, { as: admin(), body: { quantity: 1 } })).status,
    ).toBe(404);
    expect((await call("/api/products", { as: admin(), body: { name: "No price" } })).status).toBe(400);

    expect(await lastSequence(product.id)).toBe(1);
    expect(await lastSequence(UNKNOWN_PRODUCT_ID)).toBeNull();
    // A later change is the next sequence: nothing was raised in between.
    expect((await patch({ name: "Later" })).status).toBe(200);
    const events = await waitForLogged(product.id, 2);
    expect(typesAndSequences(events)).toEqual(["1:product.created", "2:product.updated"]);
  });
});

describe("stock events", () => {
  it("reserve raises stock.reserved once of five concurrent calls and a replay, with the caller's trace", async () => {
    const { lines, sorted } = await twoProducts();
    const orderId = newOrderId();

    const results = await times(5, () => catalog.reserve(orderId, lines, { traceparent: TRACEPARENT }));
    expect(results).toEqual(Array(5).fill({ ok: true, value: { state: "reserved" } }));
    expect(await catalog.reserve(orderId, lines)).toEqual({ ok: true, value: { state: "reserved" } });

    expect(await lastSequence(orderId)).toBe(1);
    const events = await waitForLogged(orderId, 1);
    expectValid(events);
    expect(events[0]).toMatchObject({
      type: "stock.reserved",
      subject: orderId,
      sequence: 1,
      traceparent: CHILD_SPAN,
      data: { orderId, lines: sorted },
    });
  });

  it("a shortfall, an unknown product, a conflicting replay or bad input raise nothing", async () => {
    const { a, b, lines } = await twoProducts();
    const short = newOrderId();
    expectFailure(await catalog.reserve(short, [{ productId: a, quantity: 11 }]), "out_of_stock");
    expectFailure(await catalog.reserve(short, [{ productId: a, quantity: 11 }]), "out_of_stock");
    expect(await catalog.release(short)).toEqual({ ok: true, value: { state: "none" } });
    const unknown = newOrderId();
    expectFailure(await catalog.reserve(unknown, [{ productId: UNKNOWN_PRODUCT_ID, quantity: 1 }]), "not_found");
    const invalid = newOrderId();
    expectFailure(await catalog.reserve(invalid, []), "validation_failed");
    expectFailure(await catalog.reserve(invalid, [{ productId: a, quantity: 0 }]), "validation_failed");
    expectFailure(await catalog.commit("ord_nope"), "validation_failed");

    for (const orderId of [short, unknown, invalid, "ord_nope"]) expect(await lastSequence(orderId)).toBeNull();
    expect(await stockOf(a)).toMatchObject({ available: 10, reserved: 0 });

    // A replay with other lines is a conflict and raises nothing after the first stock.reserved.
    const orderId = newOrderId();
    expect(await catalog.reserve(orderId, lines)).toMatchObject({ ok: true });
    expectFailure(await catalog.reserve(orderId, [{ productId: b, quantity: 1 }]), "conflict");
    expect(await lastSequence(orderId)).toBe(1);
  });

  it("commit raises stock.committed once of five concurrent calls, with the stored lines", async () => {
    const { orderId, sorted } = await reservedOrder();

    const results = await times(5, () => catalog.commit(orderId, { traceparent: TRACEPARENT }));
    expect(results).toEqual(Array(5).fill({ ok: true, value: { state: "committed" } }));
    expect(await catalog.commit(orderId)).toEqual({ ok: true, value: { state: "committed" } });
    // Illegal moves afterwards change nothing, so raise nothing.
    expectFailure(await catalog.release(orderId), "conflict");

    expect(await lastSequence(orderId)).toBe(2);
    const events = await waitForLogged(orderId, 2);
    expectValid(events);
    expect(typesAndSequences(events)).toEqual(["1:stock.reserved", "2:stock.committed"]);
    expect(events[1]).toMatchObject({ traceparent: CHILD_SPAN, data: { orderId, lines: sorted } });
  });

  it("release raises stock.released from reserved once of five concurrent calls", async () => {
    const { orderId, sorted } = await reservedOrder();

    const results = await times(5, () => catalog.release(orderId));
    expect(results).toEqual(Array(5).fill({ ok: true, value: { state: "released" } }));
    expectFailure(await catalog.commit(orderId), "conflict");
    expectFailure(await catalog.returnToStock(orderId), "conflict");

    expect(await lastSequence(orderId)).toBe(2);
    const events = await waitForLogged(orderId, 2);
    expectValid(events);
    expect(typesAndSequences(events)).toEqual(["1:stock.reserved", "2:stock.released"]);
    expect(events[1]).toMatchObject({ traceparent: null, data: { orderId, from: "reserved", lines: sorted } });
  });

  it("releasing an order that never reserved raises nothing, nor does its late reservation", async () => {
    const { lines } = await twoProducts();
    const orderId = newOrderId();

    expect(await times(3, () => catalog.release(orderId))).toEqual(
      Array(3).fill({ ok: true, value: { state: "none" } }),
    );
    expectFailure(await catalog.reserve(orderId, lines), "conflict");

    expect(await lastSequence(orderId)).toBeNull();
    expect(await outboxRows(orderId)).toEqual([]);
  });

  it("returnToStock raises stock.released from committed once of five concurrent calls", async () => {
    const { orderId, sorted } = await reservedOrder();
    expectFailure(await catalog.returnToStock(orderId), "conflict");
    expect(await catalog.commit(orderId)).toMatchObject({ ok: true });

    const results = await times(5, () => catalog.returnToStock(orderId, { traceparent: TRACEPARENT }));
    expect(results).toEqual(Array(5).fill({ ok: true, value: { state: "returned" } }));

    expect(await lastSequence(orderId)).toBe(3);
    const events = await waitForLogged(orderId, 3);
    expectValid(events);
    expect(typesAndSequences(events)).toEqual(["1:stock.reserved", "2:stock.committed", "3:stock.released"]);
    expect(events[2]).toMatchObject({ traceparent: CHILD_SPAN, data: { orderId, from: "committed", lines: sorted } });
  });

  it("a malformed trace in the call context is dropped, not stored", async () => {
    const { lines } = await twoProducts();
    const orderId = newOrderId();

    expect(await catalog.reserve(orderId, lines, { traceparent: "not-a-traceparent" })).toMatchObject({ ok: true });
    expect(await catalog.commit(orderId, "nonsense" as never)).toMatchObject({ ok: true });

    const events = await waitForLogged(orderId, 2);
    expect(events.map((e) => e.traceparent)).toEqual([null, null]);
  });
});

describe("the relay", () => {
  it("sends a change whose send was lost after the commit, and deletes the row once the log has it", async () => {
    const product = await createProduct({ stock: 2 });
    await waitForLogged(product.id, 1);
    // A committed restock whose flush never ran (the isolate died right after the commit).
    const repo = new CatalogRepository(env.DB, testOutbox());
    expect(await repo.restock(product.id, 3, new Date().toISOString())).toMatchObject({ available: 5 });
    const [row] = (await outboxRows(product.id)).filter((r) => r.sequence === 2);
    expect(row).toMatchObject({ type: "product.updated", sent_at: null });
    expect((await loggedEvents(product.id)).map((e) => e.sequence)).toEqual([1]);

    await relay().ensureScheduled();
    expect(await runDurableObjectAlarm(relay())).toBe(true);

    const events = await waitForLogged(product.id, 2);
    expect(events[1]).toMatchObject({ id: row?.id, type: "product.updated", data: { available: 5, stocked: 5 } });
    await relay().sweep();
    expect(await outboxRows(product.id)).toEqual([]);
  });
});

describe("the dev seed (d1/catalog/seed.sql)", () => {
  const SEEDED = [
    ["prd_01m6b5cjm0seed000000000001", 50],
    ["prd_01m6b5ed70seed000000000002", 30],
    ["prd_01m6b5g7t0seed000000000003", 100],
    ["prd_01m6b5j2d0seed000000000004", 3],
    ["prd_01m6b5kx00seed000000000005", 500],
  ] as const;

  it("writes one valid product.created per seeded product, however often it runs", async () => {
    await runDevSeed();
    await runDevSeed();

    const ids = new Set<string>();
    for (const [productId, stock] of SEEDED) {
      const rows = await outboxRows(productId);
      expect(rows, productId).toHaveLength(1);
      const envelope = JSON.parse(rows[0]?.envelope ?? "null");
      expect(parseEvent(envelope), JSON.stringify(envelope)).toMatchObject({ ok: true });
      const product = await env.DB.prepare("SELECT name, price_cents, currency, created_at FROM products WHERE id = ?")
        .bind(productId)
        .first<{ name: string; price_cents: number; currency: string; created_at: string }>();
      expect(envelope).toEqual({
        id: expect.stringMatching(/^evt_[0-9a-hjkmnp-tv-z]{26}$/),
        type: "product.created",
        version: 1,
        occurredAt: product?.created_at,
        source: "shop-catalog",
        subject: productId,
        sequence: 1,
        traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/),
        data: { productId, name: product?.name, priceCents: product?.price_cents, currency: "EUR", stock },
      });
      expect(rows[0]).toMatchObject({ id: envelope.id, type: "product.created", sequence: 1 });
      expect(await lastSequence(productId)).toBe(1);
      ids.add(envelope.id);
    }
    expect(ids.size).toBe(SEEDED.length);
  });

  it("the relay sends them to the log, and a re-run after the rows are gone writes nothing", async () => {
    await runDevSeed();
    await relay().sweep();
    await vi.waitFor(async () => {
      for (const [productId] of SEEDED) expect(await loggedEvents(productId), productId).toHaveLength(1);
    }, EVENT_WAIT);
    await relay().sweep();
    for (const [productId] of SEEDED) expect(await outboxRows(productId), productId).toEqual([]);

    await runDevSeed();

    for (const [productId] of SEEDED) {
      expect(await outboxRows(productId), productId).toEqual([]);
      expect(await lastSequence(productId)).toBe(1);
    }
  });
});
