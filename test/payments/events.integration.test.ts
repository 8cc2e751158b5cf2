import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { parseEvent } from "#shared/contracts/events";
import type { Payment } from "#shared/contracts/payments";
import * as useCases from "../../workers/payments/src/payments";
import {
  depsFor,
  expectFailure,
  expectOk,
  type LoggedEvent,
  lastSequence,
  loggedEvents,
  newOrderId,
  outboxRows,
  payments,
  setFaults,
  simAuthorization,
  storedPayment,
  testOutbox,
  waitForLogged,
} from "./helpers";

/**
 * shop-payments' events through the transactional outbox: each status a payment reaches is
 * written with its event in one batch, on the condition that this batch wrote it, sent to the real
 * shop-events queue after the commit and stored once in the real log (events-db). The subject is
 * the order. `event_sequences` counts every event a subject ever committed, so "raised nothing"
 * is checked there at once, and in the log once a later event of the order arrived.
 */

const relay = () => env.OUTBOX_RELAY.getByName("outbox");

const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const OTHER_TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
/** An RPC handler is a child span of its caller: the caller's trace id, a span id of its own. */
const childOf = (traceparent: string) => {
  const [, traceId, spanId] = traceparent.split("-");
  return expect.stringMatching(new RegExp(`^00-${traceId}-(?!${spanId})[0-9a-f]{16}-01$`));
};

const times = <T>(n: number, run: () => T) => Promise.all(Array.from({ length: n }, run));

async function authorized(amountCents = 1999): Promise<Payment> {
  return expectOk(await payments.authorize({ orderId: newOrderId(), amountCents, currency: "EUR" }));
}

const typesAndSequences = (events: readonly LoggedEvent[]) => events.map((e) => `${e.sequence}:${e.type}`);

/** Every logged event is a valid envelope of shop-payments about this payment. */
function expectAbout(events: readonly LoggedEvent[], payment: Payment): void {
  for (const event of events) {
    const parsed = parseEvent(event);
    expect(parsed.ok, JSON.stringify(parsed)).toBe(true);
    expect(event).toMatchObject({
      source: "shop-payments",
      version: 1,
      subject: payment.orderId,
      data: { orderId: payment.orderId, paymentId: payment.id, amountCents: payment.amountCents, currency: "EUR" },
    });
  }
}

describe("authorize", () => {
  it("raises payment.authorized once of five concurrent calls and a replay, with the caller's trace", async () => {
    const orderId = newOrderId();
    const input = { orderId, amountCents: 2500, currency: "EUR" };

    const results = await times(5, () => payments.authorize(input, { traceparent: TRACEPARENT }));
    const payment = expectOk(results[0] ?? expect.fail("no result"));
    for (const result of results) expect(expectOk(result).id).toBe(payment.id);
    expect(expectOk(await payments.authorize(input)).id).toBe(payment.id);

    expect(await lastSequence(orderId)).toBe(1);
    const events = await waitForLogged(orderId, 1);
    expectAbout(events, payment);
    // The handler's span, a child of the caller's: the caller's trace id, a span id of its own.
    expect(events[0]).toMatchObject({ type: "payment.authorized", sequence: 1, traceparent: childOf(TRACEPARENT) });
  });

  it("a decline raises no payment event, nor do its replay and void", async () => {
    await setFaults({ psp: { declineRate: 1 } });
    const orderId = newOrderId();
    expectFailure(await payments.authorize({ orderId, amountCents: 100, currency: "EUR" }), "payment_declined");
    expectFailure(await payments.authorize({ orderId, amountCents: 100, currency: "EUR" }), "payment_declined");
    expect(expectOk(await payments.void(orderId))).toMatchObject({ status: "declined" });

    expect(await storedPayment(orderId)).toMatchObject({ status: "declined" });
    expect(await lastSequence(orderId)).toBeNull();
    expect(await outboxRows(orderId)).toEqual([]);
  });

  it("bad input, another amount or a move that is not due raise nothing", async () => {
    const bad = newOrderId();
    expectFailure(await payments.authorize({ orderId: bad, amountCents: -1, currency: "EUR" }), "validation_failed");
    expectFailure(
      await payments.authorize({ orderId: bad, amountCents: 1, currency: "EUR", tip: 1 } as never),
      "validation_failed",
    );
    expectFailure(await payments.capture("nope"), "validation_failed");
    expect(await lastSequence(bad)).toBeNull();
    const none = newOrderId();
    expectFailure(await payments.capture(none), "not_found");
    expectFailure(await payments.refund(none), "not_found");
    expect(expectOk(await payments.void(none))).toBeNull();
    expect(await lastSequence(none)).toBeNull();

    const payment = await authorized(1000);
    expectFailure(
      await payments.authorize({ orderId: payment.orderId, amountCents: 2000, currency: "EUR" }),
      "conflict",
    );
    expectFailure(await payments.refund(payment.orderId), "conflict");
    expect(await lastSequence(payment.orderId)).toBe(1);
    expect(typesAndSequences(await waitForLogged(payment.orderId, 1))).toEqual(["1:payment.authorized"]);
  });
});

describe("capture and refund", () => {
  it("raise payment.captured and payment.refunded once each of five concurrent calls and replays", async () => {
    const payment = await authorized();

    const captures = await times(5, () => payments.capture(payment.orderId, { traceparent: TRACEPARENT }));
    for (const result of captures) expect(expectOk(result).status).toBe("captured");
    expectOk(await payments.capture(payment.orderId));
    // Captured: a void is refused and raises nothing.
    expectFailure(await payments.void(payment.orderId), "conflict");
    const refunds = await times(5, () => payments.refund(payment.orderId, { traceparent: OTHER_TRACEPARENT }));
    for (const result of refunds) expect(expectOk(result).status).toBe("refunded");
    expectOk(await payments.refund(payment.orderId));

    expect(await lastSequence(payment.orderId)).toBe(3);
    const events = await waitForLogged(payment.orderId, 3);
    expectAbout(events, payment);
    expect(typesAndSequences(events)).toEqual(["1:payment.authorized", "2:payment.captured", "3:payment.refunded"]);
    expect(events.map((e) => e.traceparent)).toEqual([null, childOf(TRACEPARENT), childOf(OTHER_TRACEPARENT)]);
  });
});

describe("void", () => {
  it("raises payment.voided once of five concurrent calls; later moves raise nothing", async () => {
    const payment = await authorized();

    const voids = await times(5, () => payments.void(payment.orderId));
    for (const result of voids) expect(expectOk(result)?.status).toBe("voided");
    expectOk(await payments.void(payment.orderId));
    expectFailure(await payments.capture(payment.orderId), "conflict");

    expect(await lastSequence(payment.orderId)).toBe(2);
    const events = await waitForLogged(payment.orderId, 2);
    expectAbout(events, payment);
    expect(typesAndSequences(events)).toEqual(["1:payment.authorized", "2:payment.voided"]);
  });

  it("of a simultaneous capture and void, only the winner raises its event", async () => {
    const payment = await authorized();

    await Promise.all([payments.capture(payment.orderId), payments.void(payment.orderId)]);

    const stored = await storedPayment(payment.orderId);
    expect(await lastSequence(payment.orderId)).toBe(2);
    const events = await waitForLogged(payment.orderId, 2);
    expect(events[1]?.type).toBe(`payment.${stored?.status}`);
  });

  it("an authorisation whose answer was lost, found by reference and voided, raises payment.voided once", async () => {
    await setFaults({ psp: { timeoutRate: 1 } });
    const outbox = testOutbox();
    const deps = depsFor(["s", "t"], { outbox });
    const orderId = newOrderId();
    expectFailure(await useCases.authorize(deps, { orderId, amountCents: 700, currency: "EUR" }), "timeout");
    expect(await lastSequence(orderId)).toBeNull();

    await setFaults({ psp: {} });
    const voided = expectOk(await useCases.voidPayment(deps, orderId));
    expect(expectOk(await useCases.voidPayment(deps, orderId))).toEqual(voided);
    await outbox.flush();

    expect((await simAuthorization(orderId))?.status).toBe("voided");
    expect(await lastSequence(orderId)).toBe(1);
    const events = await waitForLogged(orderId, 1);
    if (!voided) throw new Error("nothing voided");
    expectAbout(events, voided);
    expect(events[0]).toMatchObject({ type: "payment.voided", sequence: 1 });
  });
});

describe("the relay", () => {
  it("sends a capture whose send was lost after the commit, and deletes the row once the log has it", async () => {
    const payment = await authorized();
    await waitForLogged(payment.orderId, 1);
    // A committed capture whose flush never ran (the isolate died right after the commit).
    expectOk(await useCases.capture(depsFor(["u"]), payment.orderId));
    const [row] = (await outboxRows(payment.orderId)).filter((r) => r.sequence === 2);
    expect(row).toMatchObject({ type: "payment.captured", sent_at: null });
    expect((await loggedEvents(payment.orderId)).map((e) => e.sequence)).toEqual([1]);

    await relay().ensureScheduled();
    expect(await runDurableObjectAlarm(relay())).toBe(true);

    const events = await waitForLogged(payment.orderId, 2);
    expect(events[1]).toMatchObject({ id: row?.id, type: "payment.captured" });
    await relay().sweep();
    expect(await outboxRows(payment.orderId)).toEqual([]);
  });
});
