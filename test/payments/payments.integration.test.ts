import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Payment } from "#shared/contracts/payments";
import {
  expectFailure,
  expectOk,
  ledger,
  newOrderId,
  paymentRows,
  payments,
  setFaults,
  simAuthorization,
  simFetch,
  storedPayment,
  trail,
} from "./helpers";

/**
 * shop-payments through its RPC entrypoint, configured as in wrangler.toml (endpoints a and b,
 * round robin), against the real simulator and breakers. No faults here unless a test sets them.
 */

async function authorized(amountCents = 1999): Promise<Payment> {
  return expectOk(await payments.authorize({ orderId: newOrderId(), amountCents, currency: "EUR" }));
}

async function captured(): Promise<Payment> {
  return expectOk(await payments.capture((await authorized()).orderId));
}

/** How many times the provider did `action` for this order (replays of idempotent calls add nothing). */
async function providerEffects(orderId: string, action: string): Promise<number> {
  const sim = await simAuthorization(orderId);
  return sim?.history.filter((entry) => entry.action === action).length ?? 0;
}

describe("health", () => {
  it("answers ok when its database answers", async () => {
    expect(await payments.health()).toEqual({ status: "ok", service: "shop-payments" });
  });

  it("has no HTTP routes: fetch is a 404 problem", async () => {
    const response = await payments.fetch("https://payments/anything");
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
  });
});

describe("authorize", () => {
  it("authorises through the provider, with the order id as the reference, and stores the payment", async () => {
    const orderId = newOrderId();
    const payment = expectOk(await payments.authorize({ orderId, amountCents: 1999, currency: "EUR" }));
    expect(payment).toMatchObject({ orderId, amountCents: 1999, currency: "EUR", status: "authorized" });
    expect(payment.id).toMatch(/^pay_/);
    const sim = await simAuthorization(orderId);
    expect(sim).toMatchObject({ id: payment.providerRef, status: "authorized", amountCents: 1999, currency: "EUR" });
    expect(payment.endpoint).toBe(sim?.endpoint);
    expect(await storedPayment(orderId)).toEqual(payment);
    expect(trail(await ledger(orderId))).toEqual([`authorize:${payment.endpoint}:ok`]);
  });

  it("returns the stored payment for a second authorisation without calling the provider", async () => {
    const first = await authorized();
    const again = expectOk(
      await payments.authorize({ orderId: first.orderId, amountCents: first.amountCents, currency: "EUR" }),
    );
    expect(again).toEqual(first);
    expect(await ledger(first.orderId)).toHaveLength(1);
  });

  it("makes one authorisation of ten simultaneous calls", async () => {
    const orderId = newOrderId();
    const results = await Promise.all(
      Array.from({ length: 10 }, () => payments.authorize({ orderId, amountCents: 500, currency: "USD" })),
    );
    const ids = new Set(results.map((result) => expectOk(result).id));
    expect(ids.size).toBe(1);
    expect(await paymentRows(orderId)).toBe(1);
    expect(await providerEffects(orderId, "authorize")).toBe(1);
    const providerRefs = new Set(results.map((result) => expectOk(result).providerRef));
    expect(providerRefs.size).toBe(1);
  });

  it("refuses another amount for an order that already has a payment, without calling the provider", async () => {
    const first = await authorized(1000);
    const detail = expectFailure(
      await payments.authorize({ orderId: first.orderId, amountCents: 2000, currency: "EUR" }),
      "conflict",
    );
    expect(detail).toContain("1000 EUR");
    expect(await ledger(first.orderId)).toHaveLength(1);
  });

  it("balances round robin: consecutive authorisations alternate between a and b", async () => {
    const endpoints: string[] = [];
    for (let i = 0; i < 4; i++) endpoints.push((await authorized()).endpoint);
    expect(new Set(endpoints)).toEqual(new Set(["a", "b"]));
    expect(endpoints[0]).not.toBe(endpoints[1]);
    expect(endpoints[2]).toBe(endpoints[0]);
    expect(endpoints[3]).toBe(endpoints[1]);
  });

  it.each([
    { name: "a malformed order id", input: { orderId: "order-1", amountCents: 100, currency: "EUR" } },
    { name: "a negative amount", input: { orderId: newOrderId(), amountCents: -1, currency: "EUR" } },
    { name: "a fractional amount", input: { orderId: newOrderId(), amountCents: 1.5, currency: "EUR" } },
    { name: "a lowercase currency", input: { orderId: newOrderId(), amountCents: 100, currency: "eur" } },
    { name: "an unknown field", input: { orderId: newOrderId(), amountCents: 100, currency: "EUR", tip: 5 } },
  ])("refuses $name as validation_failed, without calling the provider", async ({ input }) => {
    expectFailure(await payments.authorize(input as never), "validation_failed");
    if (input.orderId.startsWith("ord_")) expect(await simAuthorization(input.orderId)).toBeUndefined();
  });
});

describe("decline", () => {
  it("is payment_declined, stored, never retried, and repeated without calling the provider", async () => {
    await setFaults({ psp: { declineRate: 1 } });
    const orderId = newOrderId();
    expectFailure(await payments.authorize({ orderId, amountCents: 4200, currency: "EUR" }), "payment_declined");
    const attempts = await ledger(orderId);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]?.outcome).toBe("declined");
    expect(await storedPayment(orderId)).toMatchObject({ status: "declined" });
    expect((await simAuthorization(orderId))?.status).toBe("declined");

    expectFailure(await payments.authorize({ orderId, amountCents: 4200, currency: "EUR" }), "payment_declined");
    expect(await ledger(orderId)).toHaveLength(1);
  });

  it("voiding a declined payment is a no-op success returning it", async () => {
    await setFaults({ psp: { declineRate: 1 } });
    const orderId = newOrderId();
    expectFailure(await payments.authorize({ orderId, amountCents: 100, currency: "EUR" }), "payment_declined");
    const voided = expectOk(await payments.void(orderId));
    expect(voided).toMatchObject({ orderId, status: "declined" });
    expect(await ledger(orderId)).toHaveLength(1);
  });
});

describe("capture", () => {
  it("captures an authorised payment once, however often it is asked", async () => {
    const payment = await authorized();
    const first = expectOk(await payments.capture(payment.orderId));
    expect(first).toMatchObject({ id: payment.id, status: "captured" });
    const second = expectOk(await payments.capture(payment.orderId));
    expect(second).toEqual(first);
    expect(await providerEffects(payment.orderId, "capture")).toBe(1);
    expect(trail(await ledger(payment.orderId)).filter((t) => t.startsWith("capture"))).toHaveLength(1);
    expect((await simAuthorization(payment.orderId))?.status).toBe("captured");
  });

  it("makes one capture of ten simultaneous calls", async () => {
    const payment = await authorized();
    const results = await Promise.all(Array.from({ length: 10 }, () => payments.capture(payment.orderId)));
    for (const result of results) expect(expectOk(result).status).toBe("captured");
    expect(await providerEffects(payment.orderId, "capture")).toBe(1);
  });

  it("is not_found for an order without a payment", async () => {
    expectFailure(await payments.capture(newOrderId()), "not_found");
  });

  it("is a conflict for a voided payment, without calling the provider", async () => {
    const payment = await authorized();
    expectOk(await payments.void(payment.orderId));
    const before = (await ledger(payment.orderId)).length;
    expectFailure(await payments.capture(payment.orderId), "conflict");
    expect(await ledger(payment.orderId)).toHaveLength(before);
    expect((await simAuthorization(payment.orderId))?.status).toBe("voided");
  });

  it("refuses a malformed order id", async () => {
    expectFailure(await payments.capture("nope"), "validation_failed");
  });
});

describe("void", () => {
  it("releases an authorisation once, however often it is asked", async () => {
    const payment = await authorized();
    const first = expectOk(await payments.void(payment.orderId));
    expect(first).toMatchObject({ id: payment.id, status: "voided" });
    expect(expectOk(await payments.void(payment.orderId))).toEqual(first);
    expect(await providerEffects(payment.orderId, "void")).toBe(1);
    expect(trail(await ledger(payment.orderId)).filter((t) => t.startsWith("void"))).toHaveLength(1);
  });

  it("makes one void of ten simultaneous calls", async () => {
    const payment = await authorized();
    const results = await Promise.all(Array.from({ length: 10 }, () => payments.void(payment.orderId)));
    for (const result of results) expect(expectOk(result)?.status).toBe("voided");
    expect(await providerEffects(payment.orderId, "void")).toBe(1);
  });

  it("is a no-op success returning null for an order that never had a payment, after asking the provider", async () => {
    const orderId = newOrderId();
    expect(expectOk(await payments.void(orderId))).toBeNull();
    expect(trail(await ledger(orderId))).toEqual([expect.stringMatching(/^lookup:[ab]:ok$/)]);
  });

  it("with no payment row, looks the authorisation up by reference and voids one our ledger never heard of", async () => {
    // The provider authorised, but our write of the answer was lost (the batch failed, or the
    // call died on its way back): no payment row and no attempt in the ledger.
    const orderId = newOrderId();
    const held = await simFetch("/a/v1/authorizations", {
      method: "POST",
      json: { reference: orderId, amountCents: 1234, currency: "EUR" },
    });
    expect(held.status).toBe(201);
    expect(await ledger(orderId)).toHaveLength(0);

    const voided = expectOk(await payments.void(orderId));
    expect(voided).toMatchObject({ orderId, status: "voided", amountCents: 1234 });
    expect((await simAuthorization(orderId))?.status).toBe("voided");
    expect(await storedPayment(orderId)).toMatchObject({ status: "voided" });
  });

  it("a void that found nothing looks again after a delay, and voids an authorisation the provider made late", async () => {
    const orderId = newOrderId();
    expect(expectOk(await payments.void(orderId))).toBeNull();
    // The provider processes the timed-out authorisation only now.
    const late = await simFetch("/b/v1/authorizations", {
      method: "POST",
      json: { reference: orderId, amountCents: 990, currency: "EUR" },
    });
    expect(late.status).toBe(201);
    const reconciler = env.VOID_RECONCILER.getByName("reconciler");
    // Not due yet: nothing happens.
    expect((await reconciler.run(Date.now())).checked).not.toContain(orderId);
    expect((await simAuthorization(orderId))?.status).toBe("authorized");
    // Past the delay (VOID_RECHECK_DELAY_MS): the check voids it, once.
    const run = await reconciler.run(Date.now() + 24 * 60 * 60 * 1000);
    expect(run.voided).toContain(orderId);
    expect((await simAuthorization(orderId))?.status).toBe("voided");
    expect(await storedPayment(orderId)).toMatchObject({ status: "voided", amountCents: 990 });
    const again = await reconciler.run(Date.now() + 24 * 60 * 60 * 1000);
    expect(again.checked).not.toContain(orderId);
    expect(await providerEffects(orderId, "void")).toBe(1);
  });

  it("a second look that finds nothing again ends the check", async () => {
    const orderId = newOrderId();
    expect(expectOk(await payments.void(orderId))).toBeNull();
    const reconciler = env.VOID_RECONCILER.getByName("reconciler");
    const run = await reconciler.run(Date.now() + 24 * 60 * 60 * 1000);
    expect(run.checked).toContain(orderId);
    expect(run.voided).not.toContain(orderId);
    expect(await storedPayment(orderId)).toBeNull();
    const again = await reconciler.run(Date.now() + 24 * 60 * 60 * 1000);
    expect(again.checked).not.toContain(orderId);
  });

  it("is a conflict for a captured payment", async () => {
    const payment = await captured();
    expectFailure(await payments.void(payment.orderId), "conflict");
    expect((await simAuthorization(payment.orderId))?.status).toBe("captured");
  });

  it("lets only one of a simultaneous capture and void win, and the row agrees with the provider", async () => {
    const payment = await authorized();
    const [capture, voided] = await Promise.all([payments.capture(payment.orderId), payments.void(payment.orderId)]);
    expect([capture.ok, voided.ok].filter(Boolean)).toHaveLength(1);
    const stored = await storedPayment(payment.orderId);
    expect(stored?.status).toBe((await simAuthorization(payment.orderId))?.status);
  });
});

describe("refund", () => {
  it("refunds a captured payment once, however often it is asked", async () => {
    const payment = await captured();
    const first = expectOk(await payments.refund(payment.orderId));
    expect(first).toMatchObject({ id: payment.id, status: "refunded" });
    expect(expectOk(await payments.refund(payment.orderId))).toEqual(first);
    expect(await providerEffects(payment.orderId, "refund")).toBe(1);
  });

  it("makes one refund of ten simultaneous calls", async () => {
    const payment = await captured();
    const results = await Promise.all(Array.from({ length: 10 }, () => payments.refund(payment.orderId)));
    for (const result of results) expect(expectOk(result).status).toBe("refunded");
    expect(await providerEffects(payment.orderId, "refund")).toBe(1);
  });

  it("is a conflict for an uncaptured payment, and the provider is not asked", async () => {
    const payment = await authorized();
    expectFailure(await payments.refund(payment.orderId), "conflict");
    expect(trail(await ledger(payment.orderId))).toHaveLength(1);
    expect((await simAuthorization(payment.orderId))?.status).toBe("authorized");
  });

  it("is not_found for an order without a payment", async () => {
    expectFailure(await payments.refund(newOrderId()), "not_found");
  });
});

describe("setFaults", () => {
  it("is not_found where FAULTS_ENABLED is not true (as in wrangler.toml)", async () => {
    expect(env.FAULTS_ENABLED).toBe("false");
    expectFailure(await payments.setFaults({ psp: { errorRate: 1 } }), "not_found");
  });
});
