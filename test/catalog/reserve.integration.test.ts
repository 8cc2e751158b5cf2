import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import {
  countRows,
  createProduct,
  expectFailure,
  expectStockInvariants,
  newOrderId,
  reservationRow,
  stockOf,
  UNKNOWN_PRODUCT_ID,
} from "./helpers";

/** The order saga's first step: `reserve(orderId, lines)`, every line or none, idempotent by order. */

const catalog = exports.default;

afterEach(expectStockInvariants);

describe("reserve", () => {
  it("moves each line's quantity from available to reserved", async () => {
    const mug = await createProduct({ stock: 10 });
    const shirt = await createProduct({ stock: 4 });

    const result = await catalog.reserve(newOrderId(), [
      { productId: mug.id, quantity: 3 },
      { productId: shirt.id, quantity: 4 },
    ]);

    expect(result).toEqual({ ok: true, value: { state: "reserved" } });
    expect(await stockOf(mug.id)).toEqual({ productId: mug.id, available: 7, reserved: 3, sold: 0, stocked: 10 });
    expect(await stockOf(shirt.id)).toEqual({ productId: shirt.id, available: 0, reserved: 4, sold: 0, stocked: 4 });
  });

  it("reserves nothing when one line of two is short: both products keep their stock", async () => {
    const plenty = await createProduct({ stock: 10 });
    const scarce = await createProduct({ stock: 1 });
    const orderId = newOrderId();

    const result = await catalog.reserve(orderId, [
      { productId: plenty.id, quantity: 2 },
      { productId: scarce.id, quantity: 2 },
    ]);

    expectFailure(result, "out_of_stock");
    expect(result.ok === false && result.detail).toContain(scarce.id);
    expect(result.ok === false && result.detail).not.toContain(plenty.id);
    expect(await stockOf(plenty.id)).toEqual({
      productId: plenty.id,
      available: 10,
      reserved: 0,
      sold: 0,
      stocked: 10,
    });
    expect(await stockOf(scarce.id)).toEqual({ productId: scarce.id, available: 1, reserved: 0, sold: 0, stocked: 1 });
    expect(await reservationRow(orderId)).toMatchObject({ state: "failed" });
  });

  it("reserves nothing when the short line comes first", async () => {
    const scarce = await createProduct({ stock: 0 });
    const plenty = await createProduct({ stock: 10 });

    expectFailure(
      await catalog.reserve(newOrderId(), [
        { productId: scarce.id, quantity: 1 },
        { productId: plenty.id, quantity: 1 },
      ]),
      "out_of_stock",
    );

    expect(await stockOf(plenty.id)).toMatchObject({ available: 10, reserved: 0 });
  });

  it("can take the last unit exactly", async () => {
    const { id } = await createProduct({ stock: 3 });

    expect(await catalog.reserve(newOrderId(), [{ productId: id, quantity: 3 }])).toMatchObject({ ok: true });

    expect(await stockOf(id)).toMatchObject({ available: 0, reserved: 3 });
    expectFailure(await catalog.reserve(newOrderId(), [{ productId: id, quantity: 1 }]), "out_of_stock");
  });

  it("answers the first outcome again for the same order and changes nothing", async () => {
    const { id } = await createProduct({ stock: 5 });
    const orderId = newOrderId();
    const lines = [{ productId: id, quantity: 2 }];

    const first = await catalog.reserve(orderId, lines);
    const second = await catalog.reserve(orderId, lines);

    expect(first).toEqual({ ok: true, value: { state: "reserved" } });
    expect(second).toEqual(first);
    expect(await stockOf(id)).toMatchObject({ available: 3, reserved: 2 });
  });

  it("treats the same lines in another order as the same request", async () => {
    const a = await createProduct({ stock: 5 });
    const b = await createProduct({ stock: 5 });
    const orderId = newOrderId();

    await catalog.reserve(orderId, [
      { productId: a.id, quantity: 1 },
      { productId: b.id, quantity: 2 },
    ]);
    const replay = await catalog.reserve(orderId, [
      { productId: b.id, quantity: 2 },
      { productId: a.id, quantity: 1 },
    ]);

    expect(replay).toMatchObject({ ok: true });
    expect(await stockOf(a.id)).toMatchObject({ reserved: 1 });
    expect(await stockOf(b.id)).toMatchObject({ reserved: 2 });
  });

  it("keeps answering out_of_stock for an order that was short, even after a restock", async () => {
    const { id } = await createProduct({ stock: 1 });
    const orderId = newOrderId();
    const lines = [{ productId: id, quantity: 2 }];
    expectFailure(await catalog.reserve(orderId, lines), "out_of_stock");
    const admin = { "x-shop-user-id": "usr_00000000000000000000000000", "x-shop-user-role": "admin" };
    await catalog.fetch(
      new Request(`https://catalog/api/products/${id}/restock`, {
        method: "POST",
        headers: { ...admin, "content-type": "application/json" },
        body: JSON.stringify({ quantity: 10 }),
      }),
    );

    expectFailure(await catalog.reserve(orderId, lines), "out_of_stock");

    expect(await stockOf(id)).toMatchObject({ available: 11, reserved: 0 });
  });

  it("refuses a replay that asks for other lines, changing nothing", async () => {
    const { id } = await createProduct({ stock: 10 });
    const orderId = newOrderId();
    await catalog.reserve(orderId, [{ productId: id, quantity: 1 }]);

    expectFailure(await catalog.reserve(orderId, [{ productId: id, quantity: 5 }]), "conflict");

    expect(await stockOf(id)).toMatchObject({ available: 9, reserved: 1 });
  });

  it("applies 10 concurrent identical calls once, and all of them answer reserved", async () => {
    const a = await createProduct({ stock: 20 });
    const b = await createProduct({ stock: 20 });
    const orderId = newOrderId();
    const lines = [
      { productId: a.id, quantity: 3 },
      { productId: b.id, quantity: 1 },
    ];

    const results = await Promise.all(Array.from({ length: 10 }, () => catalog.reserve(orderId, lines)));

    expect(results).toEqual(Array(10).fill({ ok: true, value: { state: "reserved" } }));
    expect(await stockOf(a.id)).toMatchObject({ available: 17, reserved: 3 });
    expect(await stockOf(b.id)).toMatchObject({ available: 19, reserved: 1 });
  });

  it("gives 10 concurrent identical calls that are short one answer: out_of_stock, nothing held", async () => {
    const { id } = await createProduct({ stock: 2 });
    const orderId = newOrderId();

    const results = await Promise.all(
      Array.from({ length: 10 }, () => catalog.reserve(orderId, [{ productId: id, quantity: 3 }])),
    );

    for (const result of results) expectFailure(result, "out_of_stock");
    expect(await stockOf(id)).toMatchObject({ available: 2, reserved: 0 });
  });

  it("lets exactly 5 of 20 concurrent single-unit orders reserve a stock of 5", async () => {
    const { id } = await createProduct({ stock: 5 });
    const orders = Array.from({ length: 20 }, newOrderId);

    const results = await Promise.all(
      orders.map((orderId) => catalog.reserve(orderId, [{ productId: id, quantity: 1 }])),
    );

    expect(results.filter((r) => r.ok)).toHaveLength(5);
    const refused = results.filter((r) => !r.ok);
    expect(refused).toHaveLength(15);
    for (const result of refused) expectFailure(result, "out_of_stock");
    expect(await stockOf(id)).toEqual({ productId: id, available: 0, reserved: 5, sold: 0, stocked: 5 });
  });

  it("never oversells two scarce products to concurrent two-line orders", async () => {
    const a = await createProduct({ stock: 3 });
    const b = await createProduct({ stock: 4 });
    // 12 orders of 1 a + 1 b: at most 3 can succeed (a runs out first); every winner holds both.
    const orders = Array.from({ length: 12 }, newOrderId);

    const results = await Promise.all(
      orders.map((orderId) =>
        catalog.reserve(orderId, [
          { productId: a.id, quantity: 1 },
          { productId: b.id, quantity: 1 },
        ]),
      ),
    );

    expect(results.filter((r) => r.ok)).toHaveLength(3);
    expect(await stockOf(a.id)).toMatchObject({ available: 0, reserved: 3 });
    expect(await stockOf(b.id)).toMatchObject({ available: 1, reserved: 3 });
  });

  it("answers not_found naming an unknown product and reserves nothing", async () => {
    const { id } = await createProduct({ stock: 5 });
    const orderId = newOrderId();

    const result = await catalog.reserve(orderId, [
      { productId: id, quantity: 1 },
      { productId: UNKNOWN_PRODUCT_ID, quantity: 1 },
    ]);

    expectFailure(result, "not_found");
    expect(result.ok === false && result.detail).toContain(UNKNOWN_PRODUCT_ID);
    expect(await stockOf(id)).toMatchObject({ available: 5, reserved: 0 });
    expect(await reservationRow(orderId)).toBeNull();
  });

  it("refuses a product named on two lines (lines are not merged) and reserves nothing", async () => {
    const { id } = await createProduct({ stock: 5 });
    const orderId = newOrderId();

    const result = await catalog.reserve(orderId, [
      { productId: id, quantity: 1 },
      { productId: id, quantity: 2 },
    ]);

    expectFailure(result, "validation_failed");
    expect(result.ok === false && result.detail).toContain("lines.1.productId");
    expect(await stockOf(id)).toMatchObject({ available: 5, reserved: 0 });
    expect(await reservationRow(orderId)).toBeNull();
  });

  it.each([
    ["a malformed order id", "order-1", [{ quantity: 1 }]],
    ["a product id of the wrong kind", undefined, [{ productId: "usr_00000000000000000000000000", quantity: 1 }]],
    ["no lines", undefined, []],
    ["a zero quantity", undefined, [{ quantity: 0 }]],
    ["a negative quantity", undefined, [{ quantity: -2 }]],
    ["a fractional quantity", undefined, [{ quantity: 1.5 }]],
    ["a quantity over 100", undefined, [{ quantity: 101 }]],
    ["a quantity as a string", undefined, [{ quantity: "1" }]],
    ["an unknown field on a line", undefined, [{ quantity: 1, priceCents: 1 }]],
    ["lines that are not an array", undefined, "lines"],
  ])("answers validation_failed for %s, writing nothing", async (_label, orderId, lines) => {
    const { id } = await createProduct({ stock: 5 });
    const withProduct = Array.isArray(lines) ? lines.map((line) => ({ productId: id, ...line })) : lines;
    const before = { reservations: await countRows("reservations"), lines: await countRows("reservation_lines") };

    const result = await catalog.reserve((orderId ?? newOrderId()) as string, withProduct as never);

    expectFailure(result, "validation_failed");
    expect(await stockOf(id)).toMatchObject({ available: 5, reserved: 0 });
    expect({ reservations: await countRows("reservations"), lines: await countRows("reservation_lines") }).toEqual(
      before,
    );
  });

  it("accepts 50 lines in one all-or-nothing batch, and refuses 51", async () => {
    const products = await Promise.all(Array.from({ length: 51 }, () => createProduct({ stock: 2 })));
    const lines = products.map((p) => ({ productId: p.id, quantity: 1 }));

    expectFailure(await catalog.reserve(newOrderId(), lines), "validation_failed");
    expect(await catalog.reserve(newOrderId(), lines.slice(0, 50))).toMatchObject({ ok: true });

    expect(await stockOf(products[0]?.id ?? "")).toMatchObject({ available: 1, reserved: 1 });
    expect(await stockOf(products[49]?.id ?? "")).toMatchObject({ available: 1, reserved: 1 });
    expect(await stockOf(products[50]?.id ?? "")).toMatchObject({ available: 2, reserved: 0 });
  });
});
