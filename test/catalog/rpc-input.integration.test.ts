import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createProduct, expectFailure, newOrderId, stockOf } from "./helpers";

/**
 * Every RPC method of shop-catalog that takes input answers bad input with a `validation_failed`
 * result value (it never throws across the binding, never swallows it) and writes nothing.
 */

const catalog = exports.default;

/**
 * Every table an RPC call could write: the catalog's own and its outbox (the outbox by event, as a
 * send finishing in the background may still mark an earlier call's rows sent).
 */
const TABLES = {
  products: "SELECT * FROM products ORDER BY id",
  reservations: "SELECT * FROM reservations ORDER BY order_id",
  reservation_lines: "SELECT * FROM reservation_lines ORDER BY rowid",
  outbox: "SELECT id, type, subject, sequence FROM outbox ORDER BY id",
  event_sequences: "SELECT * FROM event_sequences ORDER BY rowid",
} as const;

async function snapshot(): Promise<Record<string, unknown[]>> {
  const entries = await Promise.all(
    Object.entries(TABLES).map(async ([table, sql]) => [table, (await env.DB.prepare(sql).all()).results] as const),
  );
  return Object.fromEntries(entries);
}

/** Calls `run`, expecting a failure value (a throw fails the test), and that no table changed. */
async function expectRefusedWritingNothing(run: () => Promise<{ ok: boolean }>): Promise<void> {
  const before = await snapshot();
  const result = await run();
  expectFailure(result, "validation_failed");
  expect(await snapshot()).toEqual(before);
}

const notAnId = [
  ["a malformed id", "ord-1"],
  ["a number", 42],
  ["null", null],
  ["an object", { id: "ord_00000000000000000000000000" }],
] as const;

describe("bad RPC input is a validation_failed value that writes nothing", () => {
  it.each(notAnId)("quote with %s in the list", async (_label, bad) => {
    await createProduct();
    await expectRefusedWritingNothing(() => catalog.quote([bad] as never));
  });

  it.each(notAnId)("quote given %s instead of a list", async (_label, bad) => {
    await expectRefusedWritingNothing(() => catalog.quote(bad as never));
  });

  it.each(notAnId)("stock given %s", async (_label, bad) => {
    await createProduct();
    await expectRefusedWritingNothing(() => catalog.stock(bad as never));
  });

  it.each(notAnId)("reserve given %s as the order id", async (_label, bad) => {
    const { id } = await createProduct({ stock: 3 });
    await expectRefusedWritingNothing(() => catalog.reserve(bad as never, [{ productId: id, quantity: 1 }]));
    expect(await stockOf(id)).toMatchObject({ available: 3, reserved: 0 });
  });

  it.each([
    ["no lines at all", undefined],
    ["lines as an object", { productId: "prd_00000000000000000000000000", quantity: 1 }],
    ["a line without a quantity", [{ productId: "prd_00000000000000000000000000" }]],
  ])("reserve given %s", async (_label, bad) => {
    await expectRefusedWritingNothing(() => catalog.reserve(newOrderId(), bad as never));
  });

  it("reserve with bad lines and a malformed call context", async () => {
    await expectRefusedWritingNothing(() => catalog.reserve(newOrderId(), [] as never, "not a context" as never));
  });

  it.each(notAnId)("commit, release and returnToStock given %s, after a real reservation", async (_label, bad) => {
    const { id } = await createProduct({ stock: 3 });
    const orderId = newOrderId();
    expect(await catalog.reserve(orderId, [{ productId: id, quantity: 2 }])).toMatchObject({ ok: true });

    await expectRefusedWritingNothing(() => catalog.commit(bad as never));
    await expectRefusedWritingNothing(() => catalog.release(bad as never));
    await expectRefusedWritingNothing(() => catalog.returnToStock(bad as never));
    expect(await stockOf(id)).toMatchObject({ available: 1, reserved: 2, sold: 0 });
  });

  it("names each bad field in the failure's detail", async () => {
    const result = await catalog.reserve("ord-1", [{ productId: "prd_nope", quantity: 0 }]);

    expectFailure(result, "validation_failed");
    expect(result.ok === false && result.detail).toMatch(/orderId: .*lines\.0\.productId: .*lines\.0\.quantity: /);
  });
});
