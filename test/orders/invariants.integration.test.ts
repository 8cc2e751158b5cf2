import { describe, expect, it } from "vitest";
import {
  call,
  clearFaults,
  createProduct,
  customer,
  eventually,
  type OrderBody,
  type OrderPage,
  orderAtRest,
  ordersOfUser,
  paymentOf,
  placeOrder,
  sagaStub,
  setFaults,
  simAuthorization,
  sleep,
  stockOf,
} from "./helpers";

/**
 * SPEC.md section 6 under concurrency and a flaky provider: once every saga is at rest, stock adds
 * up, every order is confirmed with exactly one capture or cancelled with net charge zero, and the
 * saga objects, orders-db, payments-db and the provider agree.
 */

const BUSINESS_REASONS = ["out_of_stock", "payment_declined", "payment_unavailable"];
const ENDED_STATUSES = ["confirmed", "cancelled"];

async function expectStockAddsUp(productId: string, stocked: number, sold: number) {
  const stock = await stockOf(productId);
  expect(stock.stocked).toBe(stocked);
  for (const counter of [stock.available, stock.reserved, stock.sold]) expect(counter).toBeGreaterThanOrEqual(0);
  expect(stock.available + stock.reserved + stock.sold).toBe(stock.stocked);
  expect(stock.sold).toBeLessThanOrEqual(stock.stocked);
  // At rest nothing is held: each unit is sold to a confirmed order or back on the shelf.
  expect(stock).toEqual({ available: stocked - sold, reserved: 0, sold, stocked });
}

/** The order agrees with its saga object, with payments-db and with the provider. */
async function expectOrderConsistent(order: OrderBody): Promise<"charged" | "refunded" | "never_charged"> {
  const view = await sagaStub(order.id).view();
  expect(view?.state, order.id).toBe(order.saga.state);
  expect(view?.steps, order.id).toEqual(order.saga.steps);
  const payment = await paymentOf(order.id);
  const held = await simAuthorization(order.id);
  const actions = held?.history.map((h) => h.action) ?? [];
  if (payment) {
    // payments-db and orders-db agree on what was charged, and the provider holds the same.
    expect(payment).toMatchObject({ amountCents: order.totalCents, currency: order.currency });
    expect(held, order.id).toMatchObject({ id: payment.providerRef, status: payment.status });
  }
  if (order.status === "confirmed" || order.status === "shipped") {
    expect(order.saga.state, order.id).toBe("completed");
    expect(payment?.status, order.id).toBe("captured");
    expect(actions, order.id).toEqual(["authorize", "capture"]);
    return "charged";
  }
  expect(order.status, order.id).toBe("cancelled");
  expect(order.saga.state, order.id).toBe("cancelled");
  if (order.reason === "out_of_stock") {
    // Nothing was reserved, so nothing was ever asked of the provider.
    expect(payment, order.id).toBeNull();
    expect(held, order.id).toBeUndefined();
    return "never_charged";
  }
  if (payment?.status === "refunded") {
    expect(["cancelled_by_customer", "cancelled_by_admin"]).toContain(order.reason);
    expect(actions, order.id).toEqual(["authorize", "capture", "refund"]);
    return "refunded";
  }
  // Net charge zero: no payment, a decline, or a voided authorisation; never a capture.
  expect([undefined, "declined", "voided"], order.id).toContain(payment?.status);
  expect([undefined, "declined", "voided"], order.id).toContain(held?.status);
  expect(actions, order.id).not.toContain("capture");
  return "never_charged";
}

describe("invariants at rest", () => {
  it("20 concurrent orders from 4 users for 5 units, with a flaky provider", async () => {
    const product = await createProduct({ stock: 5, priceCents: 1000 });
    const users = Array.from({ length: 4 }, customer);
    await setFaults({ psp: { errorRate: 0.3, declineRate: 0.2 } });

    const placed = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        placeOrder(users[i % users.length] ?? customer(), [{ productId: product.id, quantity: 1 }]),
      ),
    );
    await clearFaults();
    const orders = await Promise.all(placed.map((p) => orderAtRest(p.order.id, 30_000)));

    for (const [i, p] of placed.entries()) {
      // 201 once the saga ended within the wait, else 202 with the order as it stood.
      if (p.status === 201) expect(ENDED_STATUSES).toContain(p.order.status);
      // 202: the saga was still running (the order may already be past its pivot, confirmed).
      else expect(["pending", "confirmed"]).toContain(p.order.status);
      expect(p.order.id).toBe(orders[i]?.id);
    }
    const confirmed = orders.filter((o) => o.status === "confirmed");
    expect(confirmed.length).toBeGreaterThanOrEqual(1);
    expect(confirmed.length).toBeLessThanOrEqual(5);
    await expectStockAddsUp(product.id, 5, confirmed.length);
    for (const order of orders) {
      if (order.status === "cancelled") expect(BUSINESS_REASONS).toContain(order.reason);
      expect(await expectOrderConsistent(order)).toBe(order.status === "confirmed" ? "charged" : "never_charged");
    }
    expect(orders.filter((o) => o.reason === "out_of_stock").length).toBeGreaterThanOrEqual(15 - 5);

    // Each user sees exactly their own orders.
    for (const user of users) {
      const response = await call("/api/orders?limit=100", { as: user });
      const page = (await response.json()) as OrderPage;
      expect(page.items.map((o) => o.id).sort()).toEqual(
        orders
          .filter((o) => o.userId === user.id)
          .map((o) => o.id)
          .sort(),
      );
    }
  });

  it("orders cancelled at random moments while a flaky provider slows the sagas", async () => {
    const product = await createProduct({ stock: 6, priceCents: 700 });
    const buyers = Array.from({ length: 10 }, customer);
    await setFaults({ psp: { errorRate: 0.25, latencyMs: 40 } });

    const placing = buyers.map((buyer) => placeOrder(buyer, [{ productId: product.id, quantity: 1 }]));
    // Half of the buyers cancel as soon as their order exists, after a random pause.
    const cancels = buyers
      .filter((_, i) => i % 2 === 0)
      .map(async (buyer) => {
        const orderId = await eventually("the order stored", async () => (await ordersOfUser(buyer.id))[0]);
        await sleep(Math.floor(Math.random() * 400));
        const response = await call(`/api/orders/${orderId}/cancel`, { as: buyer, method: "POST" });
        // Cancelled (before or after the pivot), or refused: already cancelled, or between the
        // pivot and its write.
        expect([200, 409], await response.clone().text()).toContain(response.status);
        return { orderId, status: response.status };
      });
    const [placed, cancelled] = await Promise.all([Promise.all(placing), Promise.all(cancels)]);
    await clearFaults();
    const orders = await Promise.all(placed.map((p) => orderAtRest(p.order.id, 30_000)));

    expect(cancelled.some((c) => c.status === 200)).toBe(true);
    const kept = orders.filter((o) => o.status === "confirmed");
    await expectStockAddsUp(product.id, 6, kept.length);
    for (const order of orders) await expectOrderConsistent(order);
    for (const { orderId, status } of cancelled) {
      const order = orders.find((o) => o.id === orderId);
      // A cancel answered 200 always wins; a refused one leaves the order as the saga ended it.
      if (status === 200) expect(order).toMatchObject({ status: "cancelled", reason: "cancelled_by_customer" });
      else expect(order?.reason).not.toBe("cancelled_by_customer");
    }
    for (const order of orders.filter((o) => !cancelled.some((c) => c.orderId === o.id))) {
      expect(order.reason).not.toBe("cancelled_by_customer");
    }
  });
});
