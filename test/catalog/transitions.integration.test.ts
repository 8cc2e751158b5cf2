import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import {
  createProduct,
  expectFailure,
  expectStockInvariants,
  newOrderId,
  reservationRow,
  stockOf,
  UNKNOWN_PRODUCT_ID,
} from "./helpers";

/**
 * What happens to a reservation after it is made: commit (reserved -> sold), release (reserved ->
 * available) and returnToStock (sold -> available). Each is idempotent, applies once under
 * concurrency, and refuses an illegal transition without changing anything.
 */

const catalog = exports.default;

afterEach(expectStockInvariants);

/** Two products (stock 10 and 5) and an order holding 3 and 2 of them. */
async function reservedOrder() {
  const a = await createProduct({ stock: 10 });
  const b = await createProduct({ stock: 5 });
  const orderId = newOrderId();
  const reserved = await catalog.reserve(orderId, [
    { productId: a.id, quantity: 3 },
    { productId: b.id, quantity: 2 },
  ]);
  expect(reserved).toMatchObject({ ok: true });
  return { orderId, a: a.id, b: b.id };
}

async function levels(a: string, b: string) {
  return [await stockOf(a), await stockOf(b)];
}

const times = <T>(n: number, call: () => T) => Promise.all(Array.from({ length: n }, call));

describe("commit", () => {
  it("moves the reserved quantities to sold", async () => {
    const { orderId, a, b } = await reservedOrder();

    expect(await catalog.commit(orderId)).toEqual({ ok: true, value: { state: "committed" } });

    expect(await stockOf(a)).toEqual({ productId: a, available: 7, reserved: 0, sold: 3, stocked: 10 });
    expect(await stockOf(b)).toEqual({ productId: b, available: 3, reserved: 0, sold: 2, stocked: 5 });
  });

  it("is idempotent: a second call answers committed and changes nothing", async () => {
    const { orderId, a, b } = await reservedOrder();
    await catalog.commit(orderId);
    const before = await levels(a, b);

    expect(await catalog.commit(orderId)).toEqual({ ok: true, value: { state: "committed" } });

    expect(await levels(a, b)).toEqual(before);
  });

  it("applies once when called 10 times concurrently", async () => {
    const { orderId, a, b } = await reservedOrder();

    const results = await times(10, () => catalog.commit(orderId));

    expect(results).toEqual(Array(10).fill({ ok: true, value: { state: "committed" } }));
    expect(await stockOf(a)).toMatchObject({ available: 7, reserved: 0, sold: 3 });
    expect(await stockOf(b)).toMatchObject({ available: 3, reserved: 0, sold: 2 });
  });

  it("is a conflict after a release, changing nothing", async () => {
    const { orderId, a, b } = await reservedOrder();
    await catalog.release(orderId);
    const before = await levels(a, b);

    expectFailure(await catalog.commit(orderId), "conflict");

    expect(await levels(a, b)).toEqual(before);
    expect(await reservationRow(orderId)).toMatchObject({ state: "released" });
  });

  it("is not_found for an order that never reserved, and a conflict for one that was short", async () => {
    expectFailure(await catalog.commit(newOrderId()), "not_found");

    const { id } = await createProduct({ stock: 1 });
    const short = newOrderId();
    expectFailure(await catalog.reserve(short, [{ productId: id, quantity: 2 }]), "out_of_stock");
    expectFailure(await catalog.commit(short), "conflict");
    expect(await stockOf(id)).toMatchObject({ available: 1, reserved: 0, sold: 0 });
  });

  it("answers a late duplicate after the stock was returned with committed, changing nothing", async () => {
    const { orderId, a, b } = await reservedOrder();
    await catalog.commit(orderId);
    await catalog.returnToStock(orderId);
    const before = await levels(a, b);

    expect(await catalog.commit(orderId)).toEqual({ ok: true, value: { state: "committed" } });

    expect(await levels(a, b)).toEqual(before);
  });
});

describe("release", () => {
  it("puts the reserved quantities back to available", async () => {
    const { orderId, a, b } = await reservedOrder();

    expect(await catalog.release(orderId)).toEqual({ ok: true, value: { state: "released" } });

    expect(await stockOf(a)).toEqual({ productId: a, available: 10, reserved: 0, sold: 0, stocked: 10 });
    expect(await stockOf(b)).toEqual({ productId: b, available: 5, reserved: 0, sold: 0, stocked: 5 });
  });

  it("is idempotent, and applies once when called 10 times concurrently", async () => {
    const { orderId, a, b } = await reservedOrder();

    const results = await times(10, () => catalog.release(orderId));

    expect(results).toEqual(Array(10).fill({ ok: true, value: { state: "released" } }));
    expect(await catalog.release(orderId)).toEqual({ ok: true, value: { state: "released" } });
    expect(await stockOf(a)).toMatchObject({ available: 10, reserved: 0 });
    expect(await stockOf(b)).toMatchObject({ available: 5, reserved: 0 });
  });

  it("answers none for an order that never reserved, or whose reservation was short", async () => {
    expect(await catalog.release(newOrderId())).toEqual({ ok: true, value: { state: "none" } });

    const { id } = await createProduct({ stock: 1 });
    const short = newOrderId();
    await catalog.reserve(short, [{ productId: id, quantity: 2 }]);
    expect(await catalog.release(short)).toEqual({ ok: true, value: { state: "none" } });
    expect(await catalog.release(short)).toEqual({ ok: true, value: { state: "none" } });
    expect(await stockOf(id)).toMatchObject({ available: 1, reserved: 0 });
  });

  it("makes a reservation that arrives after it a conflict, so no stock is held for a given-up order", async () => {
    const { id } = await createProduct({ stock: 4 });
    const orderId = newOrderId();

    expect(await catalog.release(orderId)).toEqual({ ok: true, value: { state: "none" } });
    expectFailure(await catalog.reserve(orderId, [{ productId: id, quantity: 1 }]), "conflict");

    expect(await stockOf(id)).toMatchObject({ available: 4, reserved: 0 });
    expect(await catalog.release(orderId)).toEqual({ ok: true, value: { state: "none" } });
  });

  it("is a conflict after a commit, changing nothing", async () => {
    const { orderId, a, b } = await reservedOrder();
    await catalog.commit(orderId);
    const before = await levels(a, b);

    expectFailure(await catalog.release(orderId), "conflict");

    expect(await levels(a, b)).toEqual(before);
    expect(await reservationRow(orderId)).toMatchObject({ state: "committed" });
  });

  it("lets the released units be reserved by another order", async () => {
    const { id } = await createProduct({ stock: 1 });
    const first = newOrderId();
    await catalog.reserve(first, [{ productId: id, quantity: 1 }]);
    expectFailure(await catalog.reserve(newOrderId(), [{ productId: id, quantity: 1 }]), "out_of_stock");

    await catalog.release(first);

    expect(await catalog.reserve(newOrderId(), [{ productId: id, quantity: 1 }])).toMatchObject({ ok: true });
  });
});

describe("returnToStock", () => {
  it("moves the sold quantities back to available", async () => {
    const { orderId, a, b } = await reservedOrder();
    await catalog.commit(orderId);

    expect(await catalog.returnToStock(orderId)).toEqual({ ok: true, value: { state: "returned" } });

    expect(await stockOf(a)).toEqual({ productId: a, available: 10, reserved: 0, sold: 0, stocked: 10 });
    expect(await stockOf(b)).toEqual({ productId: b, available: 5, reserved: 0, sold: 0, stocked: 5 });
  });

  it("is idempotent, and applies once when called 10 times concurrently", async () => {
    const { orderId, a, b } = await reservedOrder();
    await catalog.commit(orderId);

    const results = await times(10, () => catalog.returnToStock(orderId));

    expect(results).toEqual(Array(10).fill({ ok: true, value: { state: "returned" } }));
    expect(await catalog.returnToStock(orderId)).toEqual({ ok: true, value: { state: "returned" } });
    expect(await stockOf(a)).toMatchObject({ available: 10, sold: 0 });
    expect(await stockOf(b)).toMatchObject({ available: 5, sold: 0 });
  });

  it("is a conflict before a commit, changing nothing", async () => {
    const { orderId, a, b } = await reservedOrder();
    const before = await levels(a, b);

    expectFailure(await catalog.returnToStock(orderId), "conflict");

    expect(await levels(a, b)).toEqual(before);
    expect(await reservationRow(orderId)).toMatchObject({ state: "reserved" });
  });

  it("is a conflict after a release, and not_found for an order that never reserved", async () => {
    const { orderId, a, b } = await reservedOrder();
    await catalog.release(orderId);
    const before = await levels(a, b);

    expectFailure(await catalog.returnToStock(orderId), "conflict");
    expectFailure(await catalog.returnToStock(newOrderId()), "not_found");

    expect(await levels(a, b)).toEqual(before);
  });

  it("does not let a release after the return put the stock back twice", async () => {
    const { orderId, a, b } = await reservedOrder();
    await catalog.commit(orderId);
    await catalog.returnToStock(orderId);
    const before = await levels(a, b);

    expectFailure(await catalog.release(orderId), "conflict");

    expect(await levels(a, b)).toEqual(before);
  });
});

describe("racing transitions", () => {
  it("lets exactly one of a concurrent commit and release win, never both", async () => {
    const { orderId, a, b } = await reservedOrder();

    const calls = await Promise.all([
      ...Array.from({ length: 5 }, () => catalog.commit(orderId)),
      ...Array.from({ length: 5 }, () => catalog.release(orderId)),
    ]);

    const commits = calls.slice(0, 5);
    const releases = calls.slice(5);
    const committed = commits.every((r) => r.ok) && releases.every((r) => !r.ok);
    const released = releases.every((r) => r.ok) && commits.every((r) => !r.ok);
    expect(committed !== released, JSON.stringify(calls)).toBe(true);
    expect(await stockOf(a)).toMatchObject(
      committed ? { available: 7, reserved: 0, sold: 3 } : { available: 10, reserved: 0, sold: 0 },
    );
    expect(await stockOf(b)).toMatchObject(
      committed ? { available: 3, reserved: 0, sold: 2 } : { available: 5, reserved: 0, sold: 0 },
    );
  });

  it("keeps the ledger exact through many orders reserving, committing, releasing and returning at once", async () => {
    const products = await Promise.all([createProduct({ stock: 8 }), createProduct({ stock: 6 })]);
    const orders = Array.from({ length: 16 }, (_, i) => ({
      id: newOrderId(),
      lines: products.map((p, j) => ({ productId: p.id, quantity: 1 + ((i + j) % 2) })),
    }));

    await Promise.all(
      orders.map(async (order, i) => {
        const reserved = await catalog.reserve(order.id, order.lines);
        const next = i % 3 === 0 ? catalog.release(order.id) : catalog.commit(order.id);
        await Promise.all([next, catalog.reserve(order.id, order.lines)]);
        if (reserved.ok && i % 3 === 1) await Promise.all([catalog.returnToStock(order.id), catalog.commit(order.id)]);
      }),
    );

    await expectStockInvariants();
    for (const product of products) {
      const stock = await stockOf(product.id);
      expect(stock.reserved).toBe(0);
      expect(stock.stocked).toBe(product.available);
    }
  });

  it("answers validation_failed for a malformed order id on every transition", async () => {
    for (const bad of ["", "ord_short", UNKNOWN_PRODUCT_ID, 42 as unknown as string]) {
      expectFailure(await catalog.commit(bad), "validation_failed");
      expectFailure(await catalog.release(bad), "validation_failed");
      expectFailure(await catalog.returnToStock(bad), "validation_failed");
    }
  });
});
