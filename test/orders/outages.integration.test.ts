import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { OrdersRepository } from "../../workers/orders/src/repository";
import {
  admin,
  call,
  clearFaults,
  createProduct,
  customer,
  eventually,
  expectProblem,
  getOrder,
  insertPendingOrder,
  type OrderBody,
  orderAtRest,
  paymentOf,
  placeOrder,
  sagaStub,
  setFaults,
  setRpcFaults,
  simAuthorization,
  stepOf,
  stockOf,
  testOutbox,
} from "./helpers";

/**
 * Outages and ambiguous failures (issue 8): compensations that do not wait for a failing
 * dependency, a compensation budget that ends in `compensation_failed` and an operator's retry,
 * the tombstone of a cancel before the saga started, a sweep that pages and isolates, and every
 * step correct when its answer is lost after it took effect.
 */

const saga = (orderId: string) => getOrder(orderId).then((o) => o.saga);

async function sagaOutboxEvent(orderId: string, type: string): Promise<boolean> {
  const row = await env.DB.prepare("SELECT 1 AS found FROM outbox WHERE subject = ? AND type = ?")
    .bind(orderId, type)
    .first<{ found: number }>();
  return row !== null;
}

describe("a provider outage longer than the saga's deadline", () => {
  it("releases the stock and cancels the order at once, while the void keeps trying until the provider is back", async () => {
    const product = await createProduct({ stock: 3 });
    await setFaults({ psp: { errorRate: 1 } });
    const { order } = await placeOrder(customer(), [{ productId: product.id, quantity: 2 }]);

    // Past the deadline: the order is cancelled and its stock is back while the void still fails.
    const cancelled = await eventually(
      "the order cancelled with the void still retrying",
      async () => {
        const o = await getOrder(order.id);
        const voiding = o.saga.steps.find((s) => s.name === "void_payment");
        // the void has failed at least once (not merely not yet begun) before the provider is back
        return o.status === "cancelled" && voiding && voiding.status !== "succeeded" && voiding.attempts >= 1
          ? o
          : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(cancelled).toMatchObject({ reason: "payment_unavailable", saga: { state: "compensating" } });
    expect(stepOf(cancelled, "release_stock").status).toBe("succeeded");
    expect(stepOf(cancelled, "cancel_order").status).toBe("succeeded");
    expect(await stockOf(product.id)).toEqual({ available: 3, reserved: 0, sold: 0, stocked: 3 });

    await clearFaults();
    const done = await orderAtRest(order.id, 20_000);
    expect(done).toMatchObject({ status: "cancelled", saga: { state: "cancelled" } });
    expect(stepOf(done, "void_payment").status).toBe("succeeded");
    expect(stepOf(done, "void_payment").attempts).toBeGreaterThan(1);
    expect(await simAuthorization(order.id)).toBeUndefined();
  });
});

describe("a compensation that outlasts its budget", () => {
  it("ends compensation_failed with the order cancelled, is raised and listed, and an operator's retry finishes it", async () => {
    const product = await createProduct({ stock: 2 });
    const buyer = customer();
    const operator = admin();
    // payments fails at every call: authorize until the deadline, then the void until its budget is spent.
    await setRpcFaults({ payments: { errorRate: 1 } });
    const { order } = await placeOrder(buyer, [{ productId: product.id, quantity: 1 }]);

    const failed = await orderAtRest(order.id, 40_000);
    expect(failed).toMatchObject({
      status: "cancelled",
      reason: "payment_unavailable",
      saga: { state: "compensation_failed" },
    });
    expect(stepOf(failed, "void_payment")).toMatchObject({ status: "failed" });
    expect(stepOf(failed, "void_payment").error).toMatch(/^unavailable: gave up after \d+ attempts/);
    expect(stepOf(failed, "release_stock").status).toBe("succeeded");
    expect(await stockOf(product.id)).toEqual({ available: 2, reserved: 0, sold: 0, stocked: 2 });
    await eventually("order.saga.compensation_failed in the outbox or sent", async () =>
      (await sagaOutboxEvent(order.id, "order.saga.compensation_failed")) ||
      (await env.EVENTS_DB.prepare("SELECT 1 FROM events WHERE subject = ? AND type = ?")
        .bind(order.id, "order.saga.compensation_failed")
        .first())
        ? true
        : undefined,
    );
    const listed = await call("/api/admin/sagas?state=compensation_failed&limit=100", { as: operator });
    expect(((await listed.json()) as { items: { orderId: string }[] }).items.map((i) => i.orderId)).toContain(order.id);

    // Only an admin may retry; the customer is refused and nothing changes.
    await expectProblem(
      await call(`/api/admin/sagas/${order.id}/retry`, { as: buyer, method: "POST" }),
      403,
      "insufficient_scope",
    );
    expect((await saga(order.id)).state).toBe("compensation_failed");

    await clearFaults();
    const retried = await call(`/api/admin/sagas/${order.id}/retry`, { as: operator, method: "POST" });
    expect(retried.status).toBe(202);
    expect(((await retried.json()) as OrderBody["saga"]).state).toMatch(/^(compensating|cancelled)$/);
    // Idempotent: a repeat is accepted too.
    expect((await call(`/api/admin/sagas/${order.id}/retry`, { as: operator, method: "POST" })).status).toBe(202);

    const done = await orderAtRest(order.id, 20_000);
    expect(done).toMatchObject({ status: "cancelled", saga: { state: "cancelled" } });
    expect(stepOf(done, "void_payment").status).toBe("succeeded");
    expect(await paymentOf(order.id)).toBeNull();
  });

  it("a retry of a saga that did not fail is a 409; of an unknown order a 404", async () => {
    const product = await createProduct({ stock: 1 });
    const { order } = await placeOrder(customer(), [{ productId: product.id, quantity: 1 }]);
    const done = await orderAtRest(order.id);
    expect(done.saga.state).toBe("completed");
    await expectProblem(
      await call(`/api/admin/sagas/${order.id}/retry`, { as: admin(), method: "POST" }),
      409,
      "conflict",
    );
    await expectProblem(
      await call("/api/admin/sagas/ord_01m8qq6q7gctfx7wfqrveewnjj/retry", { as: admin(), method: "POST" }),
      404,
      "not_found",
    );
  });
});

describe("cancelling a pending order whose saga has not started", () => {
  it("cancels it at once and leaves a tombstone: neither the sweep nor a late start runs the saga", async () => {
    const product = await createProduct({ stock: 3 });
    const buyer = customer();
    const orderId = await insertPendingOrder(buyer.id, product, 2, Number(env.SWEEP_PENDING_AFTER_MS) + 5_000);
    expect(await sagaStub(orderId).view()).toBeNull();

    const response = await call(`/api/orders/${orderId}/cancel`, { as: buyer, method: "POST" });
    expect(response.status).toBe(200);
    const cancelled = (await response.json()) as OrderBody;
    expect(cancelled).toMatchObject({ status: "cancelled", reason: "cancelled_by_customer" });

    const swept = await env.SWEEPER.getByName("sweeper").sweep();
    expect(swept.started).not.toContain(orderId);
    const plan = await new OrdersRepository(env.DB, testOutbox()).sagaPlan(orderId);
    await sagaStub(orderId).start(plan as NonNullable<typeof plan>);

    const done = await orderAtRest(orderId);
    expect(done).toMatchObject({ status: "cancelled", reason: "cancelled_by_customer", saga: { state: "cancelled" } });
    expect(done.saga.steps.filter((s) => s.attempts > 0).map((s) => s.name)).toEqual(["cancel_order"]);
    expect(await stockOf(product.id)).toEqual({ available: 3, reserved: 0, sold: 0, stocked: 3 });
    expect(await paymentOf(orderId)).toBeNull();
    expect(await simAuthorization(orderId)).toBeUndefined();
  });
});

describe("the sweep", () => {
  it("pages past 50 stuck orders to the stranded one behind them, and one failing order does not stop the rest", async () => {
    const product = await createProduct({ stock: 0 });
    const buyer = customer();
    const old = Number(env.SWEEP_PENDING_AFTER_MS) + 60_000;
    // 55 old orders whose sagas run (their projection was written): the sweep has nothing to do for them.
    const stuck = [];
    for (let i = 0; i < 55; i++) stuck.push(await insertPendingOrder(buyer.id, product, 1, old + 1_000));
    await env.DB.prepare(`UPDATE sagas SET revision = 1 WHERE order_id IN (${stuck.map(() => "?").join(",")})`)
      .bind(...stuck)
      .run();
    // 60 stranded ones behind them (more than a page), one of which cannot even be read.
    const stranded = [];
    for (let i = 0; i < 60; i++) stranded.push(await insertPendingOrder(buyer.id, product, 1, old));
    const broken = stranded[7] as string;
    const sagaPlan = OrdersRepository.prototype.sagaPlan;
    const spy = vi.spyOn(OrdersRepository.prototype, "sagaPlan").mockImplementation(async function (
      this: OrdersRepository,
      orderId: string,
    ) {
      if (orderId === broken) throw new Error("D1 is overloaded");
      return sagaPlan.call(this, orderId);
    });
    try {
      const swept = await env.SWEEPER.getByName("sweeper").sweep();
      expect(swept.failed).toEqual([broken]);
      expect(swept.started.sort()).toEqual(stranded.filter((id) => id !== broken).sort());
      for (const id of stuck) expect(swept.started).not.toContain(id);
    } finally {
      spy.mockRestore();
    }
    // The next sweep picks up the one that failed.
    const again = await env.SWEEPER.getByName("sweeper").sweep();
    expect(again.started).toContain(broken);
    const done = await orderAtRest(stranded[59] as string);
    expect(done).toMatchObject({ status: "cancelled", reason: "out_of_stock" });
  });
});

describe("ambiguous failures: the step takes effect, its answer is lost", () => {
  it.each([
    { target: "catalog" as const, quantity: 1 },
    { target: "payments" as const, quantity: 1 },
  ])(
    "$target answering half of the calls with a lost answer: the order completes with one effect each",
    async ({ target, quantity }) => {
      const product = await createProduct({ stock: 5, priceCents: 700 });
      await setRpcFaults({ [target]: { ambiguousRate: 0.5 } });
      const placed = await Promise.all(
        Array.from({ length: 4 }, () => placeOrder(customer(), [{ productId: product.id, quantity }])),
      );
      await setRpcFaults({ [target]: {} });
      for (const { order } of placed) {
        const done = await orderAtRest(order.id, 30_000);
        expect(done).toMatchObject({ status: "confirmed", saga: { state: "completed" } });
        const held = await simAuthorization(order.id);
        expect(held?.status).toBe("captured");
        expect(held?.history.map((h) => h.action)).toEqual(["authorize", "capture"]);
        expect(await paymentOf(order.id)).toMatchObject({ status: "captured", amountCents: 700 * quantity });
      }
      expect(await stockOf(product.id)).toEqual({ available: 1, reserved: 0, sold: 4, stocked: 5 });
      // At least one attempt of the target's steps lost its answer and was issued again.
      const admins = await Promise.all(placed.map(({ order }) => getOrder(order.id)));
      const attempts = admins.flatMap((o) => o.saga.steps).filter((s) => s.attempts > 1);
      expect(attempts.length).toBeGreaterThan(0);
    },
  );

  it("every compensation stays correct when its answer is lost: a cancelled order holds nothing", async () => {
    const product = await createProduct({ stock: 4 });
    // A declined payment compensates (release, cancel) through a catalog that loses answers.
    await setFaults({ psp: { declineRate: 1 } });
    await setRpcFaults({ catalog: { ambiguousRate: 0.5 }, payments: { ambiguousRate: 0.5 } });
    const placed = await Promise.all(
      Array.from({ length: 4 }, () => placeOrder(customer(), [{ productId: product.id, quantity: 1 }])),
    );
    await clearFaults();
    for (const { order } of placed) {
      const done = await orderAtRest(order.id, 30_000);
      expect(done).toMatchObject({ status: "cancelled", saga: { state: "cancelled" } });
      const held = await simAuthorization(order.id);
      expect([undefined, "declined", "voided"]).toContain(held?.status);
    }
    expect(await stockOf(product.id)).toEqual({ available: 4, reserved: 0, sold: 0, stocked: 4 });
  });
});
