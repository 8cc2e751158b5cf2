import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  clearFaults,
  createProduct,
  customer,
  eventually,
  getOrder,
  ledgerOf,
  orderAtRest,
  paymentOf,
  placeOrder,
  sagaStub,
  setFaults,
  simAuthorization,
  stepOf,
  stepTrail,
  stockOf,
} from "./helpers";

/**
 * The saga against a failing payment provider (SPEC.md section 4): a decline compensates at once;
 * transient failures are retried through the breaker until the deadline, then compensated with
 * `payment_unavailable`.
 */

const DEADLINE_MS = Number(env.SAGA_DEADLINE_MS);

describe("a declined payment", () => {
  it("cancels the order for payment_declined, releases the stock and charges nothing", async () => {
    const product = await createProduct({ stock: 4, priceCents: 900 });
    await setFaults({ psp: { declineRate: 1 } });

    const { status, order } = await placeOrder(customer(), [{ productId: product.id, quantity: 3 }]);

    expect(status).toBe(201);
    expect(order).toMatchObject({ status: "cancelled", reason: "payment_declined", totalCents: 2700 });
    expect(order.saga.state).toBe("cancelled");
    // A decline holds nothing: no void; the reservation is released, then the order cancelled.
    expect(stepTrail(order)).toEqual([
      "reserve_stock:compensated",
      "authorize_payment:failed",
      "confirm_order:skipped",
      "commit_stock:skipped",
      "capture_payment:skipped",
      "release_stock:succeeded",
      "cancel_order:succeeded",
    ]);
    const authorize = stepOf(order, "authorize_payment");
    // The customer sees the step's code only; the admin sees the provider's detail.
    expect(authorize).toMatchObject({ attempts: 1, error: "payment_declined" });
    expect(stepOf(await getOrder(order.id), "authorize_payment").error).toMatch(/^payment_declined: /);
    expect(authorize.history).toEqual([
      expect.objectContaining({ breaker: "closed", called: true, outcome: "failed", error: authorize.error }),
    ]);

    expect(await stockOf(product.id)).toEqual({ available: 4, reserved: 0, sold: 0, stocked: 4 });
    expect(await paymentOf(order.id)).toMatchObject({ status: "declined", amountCents: 2700 });
    expect(await ledgerOf(order.id)).toEqual(["authorize:declined"]);
    const held = await simAuthorization(order.id);
    expect(held?.status).toBe("declined");
    expect(held?.history.map((h) => h.action)).toEqual(["decline"]);
    // A decline is an answer, not an outage: it does not count against the breaker.
    expect(await env.CIRCUIT_BREAKER.getByName("payments").snapshot()).toMatchObject({ state: "closed", failures: 0 });
  });
});

describe("a payment provider that is down", () => {
  it("answers 202 while authorize_payment retries through the breaker, then completes once the provider is back", async () => {
    const product = await createProduct({ stock: 3 });
    const buyer = customer();
    await setFaults({ psp: { errorRate: 1 } });

    const { status, order } = await placeOrder(buyer, [{ productId: product.id, quantity: 1 }]);

    expect(status).toBe(202);
    expect(order).toMatchObject({ status: "pending", saga: { state: "running" } });
    expect(order.reason).toBeUndefined();
    const authorize = stepOf(order, "authorize_payment");
    expect(authorize.status).toBe("running");
    expect(authorize.attempts).toBeGreaterThan(1);
    expect(authorize.error).toBe("unavailable");
    expect(authorize.history).toHaveLength(Math.min(authorize.attempts, 20));
    const ended = authorize.history.filter((a) => a.outcome !== "in_flight");
    expect(ended.length).toBeGreaterThan(0);
    for (const attempt of ended) {
      expect(attempt).toMatchObject({ outcome: "failed", error: "unavailable" });
    }
    // Calls that reached payments, and (after 5 failures in a row) calls the open breaker refused.
    expect(ended.some((a) => a.called === true)).toBe(true);
    expect(ended.some((a) => a.breaker === "open" && a.called === false)).toBe(true);
    expect(["open", "half_open"]).toContain((await env.CIRCUIT_BREAKER.getByName("payments").snapshot()).state);
    // The stock is held meanwhile; nothing is charged.
    expect(await stockOf(product.id)).toEqual({ available: 2, reserved: 1, sold: 0, stocked: 3 });
    expect(await paymentOf(order.id)).toBeNull();

    await clearFaults();
    const done = await orderAtRest(order.id, 10_000);

    expect(done).toMatchObject({ status: "confirmed", saga: { state: "completed" } });
    expect(stepTrail(done)).toEqual([
      "reserve_stock:succeeded",
      "authorize_payment:succeeded",
      "confirm_order:succeeded",
      "commit_stock:succeeded",
      "capture_payment:succeeded",
    ]);
    const recovered = stepOf(done, "authorize_payment");
    expect(recovered.error).toBeUndefined();
    expect(recovered.history.at(-1)).toMatchObject({ outcome: "succeeded", called: true });
    expect(await stockOf(product.id)).toEqual({ available: 2, reserved: 0, sold: 1, stocked: 3 });
    expect(await paymentOf(order.id)).toMatchObject({ status: "captured", amountCents: 1250 });
    const ledger = await ledgerOf(order.id);
    expect(ledger.filter((a) => a.endsWith(":ok"))).toEqual(["authorize:ok", "capture:ok"]);
    expect((await simAuthorization(order.id))?.history.map((h) => h.action)).toEqual(["authorize", "capture"]);
  });

  it("past the deadline the saga compensates: cancelled for payment_unavailable, stock released, nothing captured", async () => {
    const product = await createProduct({ stock: 3 });
    await setFaults({ psp: { errorRate: 1 } });
    const placedAt = Date.now();

    const { status, order } = await placeOrder(customer(), [{ productId: product.id, quantity: 2 }]);
    expect(status).toBe(202);
    expect(order.status).toBe("pending");

    // With the provider still down, the saga gives up at its deadline, not before.
    const view = await eventually(
      "the saga to give up",
      async () => {
        const current = await sagaStub(order.id).view();
        return current && current.state !== "running" ? current : undefined;
      },
      { timeoutMs: DEADLINE_MS + 5_000 },
    );
    const gaveUpAfter = Date.now() - placedAt;
    expect(gaveUpAfter).toBeGreaterThanOrEqual(DEADLINE_MS);
    expect(gaveUpAfter).toBeLessThan(DEADLINE_MS + 3_000);
    expect(view.state).toBe("compensating");
    expect(view.reason).toBe("payment_unavailable");

    // The provider comes back, so the authorisation that may have happened can be voided.
    await clearFaults();
    const done = await orderAtRest(order.id, 15_000);

    expect(done).toMatchObject({ status: "cancelled", reason: "payment_unavailable", saga: { state: "cancelled" } });
    expect(stepTrail(done)).toEqual([
      "reserve_stock:compensated",
      "authorize_payment:failed",
      "confirm_order:skipped",
      "commit_stock:skipped",
      "capture_payment:skipped",
      "void_payment:succeeded",
      "release_stock:succeeded",
      "cancel_order:succeeded",
    ]);
    expect(stepOf(done, "authorize_payment").error).toMatch(
      new RegExp(`^deadline_exceeded: no success within ${DEADLINE_MS} ms \\(\\d+ attempts\\); last: unavailable: `),
    );
    expect(await stockOf(product.id)).toEqual({ available: 3, reserved: 0, sold: 0, stocked: 3 });
    // Every provider call failed: nothing was authorised; the void looked and found nothing.
    expect(await paymentOf(order.id)).toBeNull();
    expect(await simAuthorization(order.id)).toBeUndefined();
    const ledger = await ledgerOf(order.id);
    expect(ledger.filter((a) => a.endsWith(":ok"))).toEqual(["lookup:ok"]);
    expect(ledger.some((a) => a.startsWith("capture"))).toBe(false);
  });
});
