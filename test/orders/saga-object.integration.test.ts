import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { OrdersRepository } from "../../workers/orders/src/repository";
import type { SagaMachineState } from "../../workers/orders/src/saga/machine";
import { OrderSaga } from "../../workers/orders/src/saga/order-saga";
import {
  call,
  clearFaults,
  createProduct,
  customer,
  eventually,
  expectProblem,
  getOrder,
  insertPendingOrder,
  ledgerOf,
  orderAtRest,
  ordersOfUser,
  paymentOf,
  placeOrder,
  sagaStub,
  setFaults,
  settleBreakers,
  simAuthorization,
  sleep,
  stepOf,
  stepTrail,
  stockOf,
  storedSaga,
} from "./helpers";

/**
 * The OrderSaga Durable Object itself: alarms drive its retries, it survives a restart with a call
 * out, and the sweep starts any pending order whose saga never started (SPEC.md section 4).
 */

const FORWARD_DONE = [
  "reserve_stock:succeeded",
  "authorize_payment:succeeded",
  "confirm_order:succeeded",
  "commit_stock:succeeded",
  "capture_payment:succeeded",
];

const readState = (state: DurableObjectState): SagaMachineState | undefined => {
  const row = state.storage.sql.exec<{ state: string }>("SELECT state FROM saga WHERE id = 1").toArray()[0];
  return row ? (JSON.parse(row.state) as SagaMachineState) : undefined;
};

async function theOrderOf(userId: string): Promise<string> {
  return eventually("the order stored", async () => (await ordersOfUser(userId))[0]);
}

describe("alarms drive the saga", () => {
  it("a retry waits for the alarm; the alarm runs it; an alarm fired again changes nothing more", async () => {
    const product = await createProduct({ stock: 3 });
    const buyer = customer();
    await setFaults({ psp: { errorRate: 1 } });
    const posting = placeOrder(buyer, [{ productId: product.id, quantity: 1 }]);
    const orderId = await theOrderOf(buyer.id);
    const stub = sagaStub(orderId);

    // Catch authorize_payment between two attempts and put its alarm off, in one step in the object.
    const held = await eventually(
      "authorize_payment waiting for its retry",
      () =>
        runInDurableObject(stub, async (_instance, state) => {
          const saga = readState(state);
          const active = saga?.active[0];
          if (active?.step !== "authorize_payment" || active.phase !== "waiting") return undefined;
          await state.storage.setAlarm(Date.now() + 600_000);
          return saga;
        }),
      { intervalMs: 1 },
    );
    const authorizeBefore = held.steps.find((s) => s.name === "authorize_payment");
    expect(authorizeBefore?.status).toBe("running");
    await clearFaults();
    await settleBreakers();

    // Past every backoff and with the provider back, nothing happens without the alarm.
    await sleep(500);
    const idle = await storedSaga(orderId);
    expect(idle?.active).toEqual(held.active);
    expect(idle?.steps).toEqual(held.steps);

    expect(await runDurableObjectAlarm(stub)).toBe(true);
    // The alarm issued the retry. Firing the alarm again now (alarms are at least once) finds
    // nothing due: no second call, no change.
    const [before, after] = await runInDurableObject(stub, async (instance, state) => {
      const first = readState(state);
      await instance.alarm();
      return [first, readState(state)];
    });
    expect(before?.active[0]).toMatchObject({ phase: "calling" });
    expect(after).toEqual(before);

    const done = await orderAtRest(orderId);
    expect(done).toMatchObject({ status: "confirmed", saga: { state: "completed" } });
    expect(stepTrail(done)).toEqual(FORWARD_DONE);
    const authorize = stepOf(done, "authorize_payment");
    expect(authorize.attempts).toBe((authorizeBefore?.attempts ?? 0) + 1);
    expect(authorize.history.at(-1)).toMatchObject({ attempt: authorize.attempts, outcome: "succeeded" });
    expect((await ledgerOf(orderId)).filter((a) => a.endsWith(":ok"))).toEqual(["authorize:ok", "capture:ok"]);

    // At rest no alarm is left, and firing one anyway changes nothing.
    expect(await runDurableObjectAlarm(stub)).toBe(false);
    const [rest, afterTwo] = await runInDurableObject(stub, async (instance, state) => {
      const first = readState(state);
      await instance.alarm();
      await instance.alarm();
      return [first, readState(state)];
    });
    expect(afterTwo).toEqual(rest);
    await sleep(100);
    expect(await getOrder(orderId)).toEqual(done);
    expect((await ledgerOf(orderId)).filter((a) => a.endsWith(":ok"))).toEqual(["authorize:ok", "capture:ok"]);
    expect((await simAuthorization(orderId))?.history.map((h) => h.action)).toEqual(["authorize", "capture"]);
    expect((await posting).order.id).toBe(orderId);
  });
});

describe("a restart", () => {
  it("while authorize_payment is out: the object resumes, re-issues it, and completes with one authorisation and one capture", async () => {
    const product = await createProduct({ stock: 3 });
    const buyer = customer();
    // Slower than payments' timeout: the call stays out long enough to be cut off.
    await setFaults({ psp: { latencyMs: 1500 } });
    const posting = placeOrder(buyer, [{ productId: product.id, quantity: 1 }]);
    const orderId = await theOrderOf(buyer.id);
    await eventually("authorize_payment out", async () => {
      const step = (await sagaStub(orderId).view())?.steps.find((s) => s.name === "authorize_payment");
      return step?.history.at(-1)?.outcome === "in_flight" ? true : undefined;
    });

    await abortAllDurableObjects();
    await clearFaults();
    // The request that placed the order lost its wait on the saga: it answers 202, pending.
    const placed = await posting;
    expect(placed.status).toBe(202);
    expect(placed.order).toMatchObject({ id: orderId, status: "pending" });

    // Any touch restarts the object, which re-issues the call it had out.
    expect(await sagaStub(orderId).view()).not.toBeNull();
    const done = await orderAtRest(orderId);

    expect(done).toMatchObject({ status: "confirmed", saga: { state: "completed" } });
    expect(stepTrail(done)).toEqual(FORWARD_DONE);
    const authorize = stepOf(done, "authorize_payment");
    expect(authorize.attempts).toBeGreaterThanOrEqual(2);
    expect(authorize.history[0]).toMatchObject({
      attempt: 1,
      outcome: "no_result",
      error: "no_result: the saga restarted while the call was out",
    });
    expect(authorize.history.at(-1)).toMatchObject({ outcome: "succeeded", called: true });
    // The provider is idempotent by reference: one authorisation and one capture, however often asked.
    const held = await simAuthorization(orderId);
    expect(held).toMatchObject({ status: "captured", amountCents: 1250 });
    expect(held?.history.map((h) => h.action)).toEqual(["authorize", "capture"]);
    expect(await paymentOf(orderId)).toMatchObject({ status: "captured", providerRef: held?.id });
    expect((await ledgerOf(orderId)).filter((a) => a.endsWith(":ok"))).toEqual(["authorize:ok", "capture:ok"]);
    expect(await stockOf(product.id)).toEqual({ available: 2, reserved: 0, sold: 1, stocked: 3 });
    // The stored response stays the one that was sent.
    expect(
      await env.DB.prepare("SELECT response_status FROM idempotency_keys WHERE order_id = ?").bind(orderId).first(),
    ).toEqual({ response_status: 202 });
  });
});

describe("the sweep", () => {
  it("starts the saga of a pending order that has none; the order ends; a second sweep leaves it alone", async () => {
    const product = await createProduct({ stock: 4 });
    const buyer = customer();
    const stale = await insertPendingOrder(buyer.id, product, 2, Number(env.SWEEP_PENDING_AFTER_MS) + 5_000);
    const young = await insertPendingOrder(buyer.id, product, 1, 0);
    expect(await sagaStub(stale).view()).toBeNull();
    const sweeper = env.SWEEPER.getByName("sweeper");

    const first = await sweeper.sweep();

    expect(first.started).toContain(stale);
    expect(first.started).not.toContain(young);
    const done = await orderAtRest(stale);
    expect(done).toMatchObject({ status: "confirmed", totalCents: 2500, saga: { state: "completed" } });
    expect(stepTrail(done)).toEqual(FORWARD_DONE);
    expect(await paymentOf(stale)).toMatchObject({ status: "captured", amountCents: 2500 });
    expect((await ledgerOf(stale)).filter((a) => a.endsWith(":ok"))).toEqual(["authorize:ok", "capture:ok"]);
    expect(await stockOf(product.id)).toEqual({ available: 2, reserved: 0, sold: 2, stocked: 4 });

    const second = await sweeper.sweep();
    expect(second.started).not.toContain(stale);
    expect(second.started).not.toContain(young);
    expect(await sagaStub(young).view()).toBeNull();
    expect(await getOrder(young)).toMatchObject({ status: "pending", saga: { state: "running", steps: [] } });
  });

  it("runs on its own alarm, which it sets again, and forgets idempotency keys past their TTL", async () => {
    const product = await createProduct({ stock: 2 });
    const buyer = customer();
    const stale = await insertPendingOrder(buyer.id, product, 1, Number(env.SWEEP_PENDING_AFTER_MS) + 5_000);
    const ttl = Number(env.IDEMPOTENCY_TTL_SECONDS);
    const oldKey = `old-${crypto.randomUUID()}`;
    await env.DB.prepare(
      "INSERT INTO idempotency_keys (user_id, key, fingerprint, order_id, response_status, response_body, created_at) VALUES (?, ?, 'f', ?, 201, '{}', ?)",
    )
      .bind(buyer.id, oldKey, stale, Math.floor(Date.now() / 1000) - ttl - 60)
      .run();
    const sweeper = env.SWEEPER.getByName("sweeper");
    await sweeper.ensureScheduled();

    expect(await runDurableObjectAlarm(sweeper)).toBe(true);

    const done = await orderAtRest(stale);
    expect(done).toMatchObject({ status: "confirmed", saga: { state: "completed" } });
    const key = await env.DB.prepare("SELECT 1 FROM idempotency_keys WHERE user_id = ? AND key = ?")
      .bind(buyer.id, oldKey)
      .first();
    expect(key).toBeNull();
    // The order's own key is younger than the TTL and stays.
    expect(
      await env.DB.prepare("SELECT COUNT(*) AS n FROM idempotency_keys WHERE order_id = ?").bind(stale).first(),
    ).toEqual({ n: 1 });
    const next = await runInDurableObject(sweeper, (_instance, state) => state.storage.getAlarm());
    expect(next).toEqual(expect.any(Number));
    expect((next ?? 0) - Date.now()).toBeGreaterThan(Number(env.SWEEP_INTERVAL_MS) - 5_000);
  });
});

describe("lost answers and failed requests after the pivot", () => {
  it("a confirm_order whose answer was lost, overtaken by the customer's cancel, still ends refunded", async () => {
    const product = await createProduct({ stock: 3 });
    const buyer = customer();
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let wrote = () => {};
    const written = new Promise<void>((resolve) => {
      wrote = resolve;
    });
    const confirm = OrdersRepository.prototype.confirm;
    // The pivot's write commits, but its answer never reaches the saga (a connection lost after
    // the commit): the saga must issue confirm_order again.
    const spy = vi.spyOn(OrdersRepository.prototype, "confirm").mockImplementationOnce(async function (
      this: OrdersRepository,
      orderId: string,
      now: string,
    ) {
      await confirm.call(this, orderId, now);
      wrote();
      await gate;
      throw new Error("connection lost after commit");
    });
    try {
      const posting = placeOrder(buyer, [{ productId: product.id, quantity: 1 }]);
      await written;
      const orderId = await theOrderOf(buyer.id);
      // The order reads confirmed, so the customer cancels it: cancelled at once, refund queued.
      const cancelling = call(`/api/orders/${orderId}/cancel`, { as: buyer, method: "POST" });
      await eventually("the order cancelled in orders-db", async () =>
        (await getOrder(orderId)).status === "cancelled" ? true : undefined,
      );
      release();

      const done = await orderAtRest(orderId, 10_000);
      expect(done).toMatchObject({
        status: "cancelled",
        reason: "cancelled_by_customer",
        saga: { state: "cancelled" },
      });
      expect(stepTrail(done)).toEqual([...FORWARD_DONE, "refund_payment:succeeded", "return_stock:succeeded"]);
      expect(stepOf(done, "confirm_order").attempts).toBe(2);
      expect(await paymentOf(orderId)).toMatchObject({ status: "refunded" });
      expect(await stockOf(product.id)).toEqual({ available: 3, reserved: 0, sold: 0, stocked: 3 });
      expect((await cancelling).status).toBe(200);
      expect((await posting).order.id).toBe(orderId);
    } finally {
      release();
      spy.mockRestore();
    }
  });

  it("a lost confirm overtaken by a cancel whose refund request failed: the sweep owes the refund, and the saga ends refunded", async () => {
    const product = await createProduct({ stock: 3 });
    const buyer = customer();
    let wrote = () => {};
    const written = new Promise<void>((resolve) => {
      wrote = resolve;
    });
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const confirm = OrdersRepository.prototype.confirm;
    // The pivot's write commits and its answer is lost: the saga re-issues confirm_order, which
    // finds the order cancelled by the customer, whose request for the refund failed.
    const confirmSpy = vi.spyOn(OrdersRepository.prototype, "confirm").mockImplementationOnce(async function (
      this: OrdersRepository,
      orderId: string,
      now: string,
    ) {
      await confirm.call(this, orderId, now);
      wrote();
      await gate;
      throw new Error("connection lost after commit");
    });
    const refundSpy = vi.spyOn(OrderSaga.prototype, "refund").mockImplementationOnce(() => {
      throw new Error("the object is overloaded");
    });
    try {
      const posting = placeOrder(buyer, [{ productId: product.id, quantity: 1 }]);
      await written;
      const orderId = await theOrderOf(buyer.id);
      await expectProblem(await call(`/api/orders/${orderId}/cancel`, { as: buyer, method: "POST" }), 500, "internal");
      release();
      // confirm_order keeps finding a cancelled order with no refund asked: the saga cannot finish.
      await eventually("confirm_order re-issued", async () =>
        stepOf(await getOrder(orderId), "confirm_order").attempts >= 2 ? true : undefined,
      );
      expect((await getOrder(orderId)).saga.state).toBe("running");

      const past = new Date(Date.now() - Number(env.SWEEP_PENDING_AFTER_MS) - 5_000).toISOString();
      await env.DB.prepare("UPDATE orders SET updated_at = ? WHERE id = ?").bind(past, orderId).run();
      expect((await env.SWEEPER.getByName("sweeper").sweep()).refunded).toEqual([orderId]);

      const done = await orderAtRest(orderId, 15_000);
      expect(done).toMatchObject({
        status: "cancelled",
        reason: "cancelled_by_customer",
        saga: { state: "cancelled" },
      });
      expect(await paymentOf(orderId)).toMatchObject({ status: "refunded" });
      expect(await stockOf(product.id)).toEqual({ available: 3, reserved: 0, sold: 0, stocked: 3 });
      expect((await posting).order.id).toBe(orderId);
    } finally {
      release();
      confirmSpy.mockRestore();
      refundSpy.mockRestore();
    }
  });

  it("the sweep refunds a cancelled order whose refund request failed, once", async () => {
    const product = await createProduct({ stock: 3 });
    const buyer = customer();
    const { order } = await placeOrder(buyer, [{ productId: product.id, quantity: 1 }]);
    const spy = vi.spyOn(OrderSaga.prototype, "refund").mockImplementationOnce(() => {
      throw new Error("the object is overloaded");
    });
    try {
      await expectProblem(await call(`/api/orders/${order.id}/cancel`, { as: buyer, method: "POST" }), 500, "internal");
    } finally {
      spy.mockRestore();
    }
    expect(await paymentOf(order.id)).toMatchObject({ status: "captured" });
    const sweeper = env.SWEEPER.getByName("sweeper");
    // A fresh cancellation is left to its own request for a while.
    expect((await sweeper.sweep()).refunded).not.toContain(order.id);
    const past = new Date(Date.now() - Number(env.SWEEP_PENDING_AFTER_MS) - 5_000).toISOString();
    await env.DB.prepare("UPDATE orders SET updated_at = ? WHERE id = ?").bind(past, order.id).run();

    expect((await sweeper.sweep()).refunded).toEqual([order.id]);

    const done = await orderAtRest(order.id);
    expect(done).toMatchObject({ status: "cancelled", reason: "cancelled_by_customer", saga: { state: "cancelled" } });
    expect(await paymentOf(order.id)).toMatchObject({ status: "refunded" });
    expect(await stockOf(product.id)).toEqual({ available: 3, reserved: 0, sold: 0, stocked: 3 });
    expect((await sweeper.sweep()).refunded).not.toContain(order.id);
    expect(await ledgerOf(order.id)).toEqual(["authorize:ok", "capture:ok", "refund:ok"]);
  });

  it("a cancel whose refund request failed leaves the order cancelled but charged; a retried cancel repairs it", async () => {
    const product = await createProduct({ stock: 3 });
    const buyer = customer();
    const { order } = await placeOrder(buyer, [{ productId: product.id, quantity: 1 }]);
    expect(order).toMatchObject({ status: "confirmed", saga: { state: "completed" } });
    const spy = vi.spyOn(OrderSaga.prototype, "refund").mockImplementationOnce(() => {
      throw new Error("the object is overloaded");
    });
    try {
      const cancel = () => call(`/api/orders/${order.id}/cancel`, { as: buyer, method: "POST" });
      await expectProblem(await cancel(), 500, "internal");
      // The cancellation stands (it was written first, so that it cannot race a shipment)...
      expect(await getOrder(order.id)).toMatchObject({ status: "cancelled", saga: { state: "completed" } });
      expect(await paymentOf(order.id)).toMatchObject({ status: "captured" });

      // ...and the client's retry is a 409 that asks for the refund again.
      await expectProblem(await cancel(), 409, "conflict");
      const done = await orderAtRest(order.id);
      expect(done).toMatchObject({
        status: "cancelled",
        reason: "cancelled_by_customer",
        saga: { state: "cancelled" },
      });
      expect(stepTrail(done)).toEqual([...FORWARD_DONE, "refund_payment:succeeded", "return_stock:succeeded"]);
      expect(await paymentOf(order.id)).toMatchObject({ status: "refunded" });
      expect(await stockOf(product.id)).toEqual({ available: 3, reserved: 0, sold: 0, stocked: 3 });

      // Further retries change nothing: one refund.
      await expectProblem(await cancel(), 409, "conflict");
      await sleep(100);
      expect(await ledgerOf(order.id)).toEqual(["authorize:ok", "capture:ok", "refund:ok"]);
      expect(await getOrder(order.id)).toEqual(done);
    } finally {
      spy.mockRestore();
    }
  });
});
