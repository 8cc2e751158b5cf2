import { describe, expect, it } from "vitest";
import {
  admin,
  call,
  clearFaults,
  createProduct,
  customer,
  eventually,
  expectProblem,
  getOrder,
  type Identity,
  insertPendingOrder,
  ledgerOf,
  type OrderBody,
  ordersOfUser,
  paymentOf,
  placeOrder,
  sagaStub,
  setFaults,
  simAuthorization,
  stepOf,
  stepTrail,
  stockOf,
} from "./helpers";

/** POST /api/orders/:id/cancel and POST /api/orders/:id/ship (SPEC.md section 2). */

const FORWARD_DONE = [
  "reserve_stock:succeeded",
  "authorize_payment:succeeded",
  "confirm_order:succeeded",
  "commit_stock:succeeded",
  "capture_payment:succeeded",
];

const cancel = (orderId: string, as: Identity) => call(`/api/orders/${orderId}/cancel`, { as, method: "POST" });
const ship = (orderId: string, as: Identity, body: unknown = {}) => call(`/api/orders/${orderId}/ship`, { as, body });

async function completedOrder(buyer: Identity, stock = 5, quantity = 2) {
  const product = await createProduct({ stock });
  const { status, order } = await placeOrder(buyer, [{ productId: product.id, quantity }]);
  expect(status).toBe(201);
  expect(order).toMatchObject({ status: "confirmed", saga: { state: "completed" } });
  return { product, order };
}

async function json<T>(response: Response, status: number): Promise<T> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  return JSON.parse(text) as T;
}

describe("cancel before the pivot", () => {
  it("stops the saga while authorize_payment is out and compensates: stock back, any authorisation voided", async () => {
    const product = await createProduct({ stock: 5 });
    const buyer = customer();
    // A provider slower than payments' timeout: the authorisation stays out for a while.
    await setFaults({ psp: { latencyMs: 1500 } });
    const posting = placeOrder(buyer, [{ productId: product.id, quantity: 2 }]);
    const orderId = await eventually("the order stored", async () => (await ordersOfUser(buyer.id))[0]);
    await eventually("authorize_payment out", async () => {
      const step = (await sagaStub(orderId).view())?.steps.find((s) => s.name === "authorize_payment");
      return step?.history.at(-1)?.outcome === "in_flight" ? true : undefined;
    });

    const cancelling = cancel(orderId, buyer);
    // Once the cancel is taken the saga compensates; the provider recovers so the void can go through.
    await eventually("the cancel taken", async () => {
      const state = (await sagaStub(orderId).view())?.state;
      return state === "compensating" || state === "cancelled" ? true : undefined;
    });
    await clearFaults();
    const cancelled = await json<OrderBody>(await cancelling, 200);

    expect(cancelled).toMatchObject({ id: orderId, status: "cancelled", reason: "cancelled_by_customer" });
    expect(cancelled.saga.state).toBe("cancelled");
    // The authorisation that was out when the cancel came is undone whatever its answer was.
    expect(stepTrail(cancelled)).toEqual([
      "reserve_stock:compensated",
      expect.stringMatching(/^authorize_payment:(compensated|failed)$/),
      "confirm_order:skipped",
      "commit_stock:skipped",
      "capture_payment:skipped",
      "void_payment:succeeded",
      "release_stock:succeeded",
      "cancel_order:succeeded",
    ]);
    expect(await stockOf(product.id)).toEqual({ available: 5, reserved: 0, sold: 0, stocked: 5 });
    const payment = await paymentOf(orderId);
    if (payment) expect(payment.status).toBe("voided");
    const held = await simAuthorization(orderId);
    if (held) expect(held.status).toBe("voided");
    expect((await ledgerOf(orderId)).some((a) => a.startsWith("capture"))).toBe(false);

    // The order's own POST answered once the saga ended, with the order as it ended.
    const placed = await posting;
    expect(placed.status).toBe(201);
    expect(placed.order).toMatchObject({ id: orderId, status: "cancelled", reason: "cancelled_by_customer" });

    // Cancelling again: 409.
    await expectProblem(await cancel(orderId, buyer), 409, "conflict");
  });
});

describe("cancel after the pivot", () => {
  it("refunds a completed order and puts the stock back: 200, cancelled_by_customer", async () => {
    const buyer = customer();
    const { product, order } = await completedOrder(buyer, 5, 2);

    const cancelled = await json<OrderBody>(await cancel(order.id, buyer), 200);

    expect(cancelled).toMatchObject({ id: order.id, status: "cancelled", reason: "cancelled_by_customer" });
    expect(cancelled.saga.state).toBe("cancelled");
    expect(stepTrail(cancelled)).toEqual([...FORWARD_DONE, "refund_payment:succeeded", "return_stock:succeeded"]);
    expect(stepOf(cancelled, "refund_payment").history).toEqual([
      expect.objectContaining({ attempt: 1, breaker: "closed", called: true, outcome: "succeeded" }),
    ]);
    expect(await stockOf(product.id)).toEqual({ available: 5, reserved: 0, sold: 0, stocked: 5 });
    expect(await paymentOf(order.id)).toMatchObject({ status: "refunded", amountCents: order.totalCents });
    expect(await ledgerOf(order.id)).toEqual(["authorize:ok", "capture:ok", "refund:ok"]);
    expect((await simAuthorization(order.id))?.history.map((h) => h.action)).toEqual([
      "authorize",
      "capture",
      "refund",
    ]);
    expect(await getOrder(order.id, buyer)).toEqual(cancelled);

    // Already cancelled: 409, and nothing is refunded twice.
    await expectProblem(await cancel(order.id, buyer), 409, "conflict");
    expect(await ledgerOf(order.id)).toEqual(["authorize:ok", "capture:ok", "refund:ok"]);
    expect(await stockOf(product.id)).toEqual({ available: 5, reserved: 0, sold: 0, stocked: 5 });
  });

  it("an admin cancelling a customer's order cancels it for cancelled_by_admin", async () => {
    const buyer = customer();
    const { product, order } = await completedOrder(buyer, 3, 1);
    const cancelled = await json<OrderBody>(await cancel(order.id, admin()), 200);
    expect(cancelled).toMatchObject({
      status: "cancelled",
      reason: "cancelled_by_admin",
      saga: { state: "cancelled" },
    });
    expect(await paymentOf(order.id)).toMatchObject({ status: "refunded" });
    expect(await stockOf(product.id)).toEqual({ available: 3, reserved: 0, sold: 0, stocked: 3 });
  });

  it("a shipped order cannot be cancelled: 409, still shipped and charged", async () => {
    const buyer = customer();
    const { product, order } = await completedOrder(buyer, 5, 1);
    await json(await ship(order.id, admin()), 200);
    await expectProblem(await cancel(order.id, buyer), 409, "conflict");
    await expectProblem(await cancel(order.id, admin()), 409, "conflict");
    expect(await getOrder(order.id)).toMatchObject({ status: "shipped", saga: { state: "completed" } });
    expect(await paymentOf(order.id)).toMatchObject({ status: "captured" });
    expect(await stockOf(product.id)).toEqual({ available: 4, reserved: 0, sold: 1, stocked: 5 });
  });

  it("an order cancelled for out_of_stock cannot be cancelled again: 409", async () => {
    const product = await createProduct({ stock: 0 });
    const buyer = customer();
    const { order } = await placeOrder(buyer, [{ productId: product.id, quantity: 1 }]);
    expect(order).toMatchObject({ status: "cancelled", reason: "out_of_stock" });
    await expectProblem(await cancel(order.id, buyer), 409, "conflict");
    expect(await getOrder(order.id)).toMatchObject({ status: "cancelled", reason: "out_of_stock" });
  });
});

describe("another user's order", () => {
  it("is a 404 to read and to cancel, and stays as it was", async () => {
    const owner = customer();
    const { product, order } = await completedOrder(owner, 5, 1);
    const stranger = customer();
    await expectProblem(await call(`/api/orders/${order.id}`, { as: stranger }), 404, "not_found");
    await expectProblem(await cancel(order.id, stranger), 404, "not_found");
    expect(await getOrder(order.id, owner)).toEqual(order);
    expect(await paymentOf(order.id)).toMatchObject({ status: "captured" });
    expect(await stockOf(product.id)).toMatchObject({ sold: 1 });
  });

  it("an unknown order is a 404 and a malformed id a 400", async () => {
    const someone = customer();
    await expectProblem(await call("/api/orders/ord_00000000000000000000000000", { as: someone }), 404, "not_found");
    await expectProblem(await cancel("ord_00000000000000000000000000", someone), 404, "not_found");
    await expectProblem(await call("/api/orders/nope", { as: someone }), 400, "validation_failed");
    await expectProblem(await cancel("nope", someone), 400, "validation_failed");
  });
});

describe("ship", () => {
  it("is for admins only: a customer gets 403, even for their own order", async () => {
    const buyer = customer();
    const { order } = await completedOrder(buyer);
    await expectProblem(await ship(order.id, buyer), 403, "insufficient_scope");
    expect(await getOrder(order.id)).toMatchObject({ status: "confirmed" });
  });

  it("ships a confirmed order whose saga completed, with a generated tracking number; twice is a 409", async () => {
    const { order } = await completedOrder(customer());
    const shipped = await json<OrderBody>(await ship(order.id, admin()), 200);
    expect(shipped).toMatchObject({ id: order.id, status: "shipped", saga: { state: "completed" } });
    expect(shipped.trackingNumber).toMatch(/^TRK-[0-9A-F]{12}$/);
    expect(await getOrder(order.id)).toEqual(shipped);

    await expectProblem(await ship(order.id, admin(), { trackingNumber: "OTHER" }), 409, "conflict");
    expect((await getOrder(order.id)).trackingNumber).toBe(shipped.trackingNumber);
  });

  it("keeps a given tracking number (trimmed)", async () => {
    const { order } = await completedOrder(customer());
    const shipped = await json<OrderBody>(
      await ship(order.id, admin(), { trackingNumber: "  1Z999AA10123456784 " }),
      200,
    );
    expect(shipped).toMatchObject({ status: "shipped", trackingNumber: "1Z999AA10123456784" });
  });

  it("refuses a pending order and a cancelled one with 409, an unknown one with 404, a bad body with 400", async () => {
    const product = await createProduct({ stock: 5 });
    const pending = await insertPendingOrder(customer().id, product, 1);
    await expectProblem(await ship(pending, admin()), 409, "conflict");
    expect(await getOrder(pending)).toMatchObject({ status: "pending" });

    const { order: outOfStock } = await placeOrder(customer(), [{ productId: product.id, quantity: 6 }]);
    expect(outOfStock.status).toBe("cancelled");
    await expectProblem(await ship(outOfStock.id, admin()), 409, "conflict");

    const buyer = customer();
    const { order: refunded } = await completedOrder(buyer);
    await json(await cancel(refunded.id, buyer), 200);
    await expectProblem(await ship(refunded.id, admin()), 409, "conflict");
    expect(await getOrder(refunded.id)).toMatchObject({ status: "cancelled" });

    await expectProblem(await ship("ord_00000000000000000000000000", admin()), 404, "not_found");
    const { order } = await completedOrder(customer());
    await expectProblem(await ship(order.id, admin(), { trackingNumber: "" }), 400, "validation_failed");
    await expectProblem(await ship(order.id, admin(), { carrier: "x" }), 400, "validation_failed");
    expect(await getOrder(order.id)).toMatchObject({ status: "confirmed" });
  });
});
