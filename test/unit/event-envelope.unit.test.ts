import { describe, expect, it } from "vitest";
import {
  DeadLetterInputSchema,
  EnvelopeSchema,
  EVENT_CATALOGUE,
  EVENT_TYPES,
  EventQuerySchema,
  EventTypeSchema,
  parseEvent,
  RedriveInputSchema,
  ReplayInputSchema,
  StoredQuerySchema,
} from "#shared/contracts/events";

/** The envelope and the catalogue every producer and consumer checks messages against. */

const USER = "usr_01jd0000000000000000000000";
const ORDER = "ord_01jd0000000000000000000000";
const PRODUCT = "prd_01jd0000000000000000000000";
const PAYMENT = "pay_01jd0000000000000000000000";
const TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

function envelope(type: string, data: Record<string, unknown>, overrides: Record<string, unknown> = {}) {
  return {
    id: "evt_01jd0000000000000000000000",
    type,
    version: 1,
    occurredAt: "2026-11-24T10:00:00.000Z",
    source: "shop-orders",
    subject: ORDER,
    sequence: 1,
    traceparent: TRACE,
    data,
    ...overrides,
  };
}

const VALID: Record<string, Record<string, unknown>> = {
  "user.created": { userId: USER, email: "ada@example.com", name: "Ada", phone: "+14155550123", role: "customer" },
  "product.created": { productId: PRODUCT, name: "Mug", priceCents: 1200, currency: "EUR", stock: 5 },
  "stock.reserved": { orderId: ORDER, lines: [{ productId: PRODUCT, quantity: 2 }] },
  "stock.released": { orderId: ORDER, from: "committed", lines: [{ productId: PRODUCT, quantity: 2 }] },
  "order.created": {
    orderId: ORDER,
    userId: USER,
    items: [{ productId: PRODUCT, quantity: 2, unitPriceCents: 600 }],
    totalCents: 1200,
    currency: "EUR",
  },
  "order.cancelled": { orderId: ORDER, userId: USER, reason: "out_of_stock", totalCents: 1200, currency: "EUR" },
  "order.shipped": { orderId: ORDER, userId: USER, trackingNumber: "1Z999" },
  "payment.captured": { orderId: ORDER, paymentId: PAYMENT, amountCents: 1200, currency: "EUR" },
  "order.saga.failed": { orderId: ORDER, state: "cancelled", reason: "payment_declined", step: "authorize_payment" },
};

describe("the event catalogue", () => {
  it("has a data schema and a version (from 1) for each of the 18 types", () => {
    expect(EVENT_TYPES).toHaveLength(18);
    for (const type of EVENT_TYPES) {
      expect(EVENT_CATALOGUE[type].version, type).toBeGreaterThanOrEqual(1);
      expect(typeof EVENT_CATALOGUE[type].data.safeParse, type).toBe("function");
    }
  });

  it("the type enum is exactly the catalogue's types", () => {
    expect([...EventTypeSchema.options].sort()).toEqual(Object.keys(EVENT_CATALOGUE).sort());
  });

  it("every type's data schema requires fields (an empty object is never valid data)", () => {
    for (const type of EVENT_TYPES) expect(EVENT_CATALOGUE[type].data.safeParse({}).success, type).toBe(false);
  });
});

describe("parseEvent", () => {
  it.each(Object.entries(VALID))("accepts a valid %s and returns it as it was", (type, data) => {
    const body = envelope(type, data);
    expect(parseEvent(body)).toEqual({ ok: true, event: body });
  });

  it("keeps the actor who caused the event, and still reads an event stored before events had one", () => {
    const withActor = parseEvent(
      envelope("order.created", VALID["order.created"] as Record<string, unknown>, {
        actor: { type: "admin", id: USER },
      }),
    );
    expect(withActor.ok && withActor.event.actor).toEqual({ type: "admin", id: USER });
    const old = parseEvent(envelope("order.created", VALID["order.created"] as Record<string, unknown>));
    expect(old.ok).toBe(true);
    expect(old.ok && old.event.actor).toBeUndefined();
    for (const actor of [{ type: "robot", id: "x" }, { type: "user", id: "" }, "usr_1"]) {
      expect(
        parseEvent(envelope("order.created", VALID["order.created"] as Record<string, unknown>, { actor })).ok,
        JSON.stringify(actor),
      ).toBe(false);
    }
  });

  it("accepts a null traceparent (an event no request caused)", () => {
    expect(parseEvent(envelope("order.shipped", VALID["order.shipped"] ?? {}, { traceparent: null })).ok).toBe(true);
  });

  it.each([
    ["an unknown type", { type: "user.deleted" }, "type"],
    ["a version this code does not know", { version: 2 }, "version"],
    ["a version below 1", { version: 0 }, "version"],
    ["an id that is not an event id", { id: "ord_01jd0000000000000000000000" }, "id"],
    ["an unknown source", { source: "shop-mallory" }, "source"],
    ["a sequence of 0", { sequence: 0 }, "sequence"],
    ["a malformed traceparent", { traceparent: "00-xyz-01" }, "traceparent"],
    ["a time that is not ISO 8601", { occurredAt: "yesterday" }, "occurredAt"],
    ["an empty subject", { subject: "" }, "subject"],
  ])("rejects %s, naming the field", (_name, overrides, field) => {
    const parsed = parseEvent(envelope("order.shipped", VALID["order.shipped"] ?? {}, overrides));
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.issues).toContain(field);
  });

  it.each([
    ["order.shipped", { orderId: ORDER, userId: USER }, "trackingNumber"],
    ["order.cancelled", { ...VALID["order.cancelled"], reason: "bored" }, "reason"],
    ["stock.reserved", { orderId: ORDER, lines: [] }, "lines"],
    ["user.created", { ...VALID["user.created"], email: "not-an-email" }, "email"],
    ["payment.captured", { ...VALID["payment.captured"], amountCents: -1 }, "amountCents"],
    ["order.created", { ...VALID["order.created"], userId: ORDER }, "userId"],
  ])("rejects %s with bad data (%j), under data.", (type, data, field) => {
    const parsed = parseEvent(envelope(type, data as Record<string, unknown>));
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.issues).toMatch(/^data\./);
    expect(!parsed.ok && parsed.issues).toContain(field);
  });

  it.each([null, "text", 42, [], {}])("rejects a body that is not an envelope: %j", (body) => {
    expect(parseEvent(body).ok).toBe(false);
  });

  it.each(["id", "type", "version", "occurredAt", "source", "subject", "sequence", "traceparent", "data"])(
    "rejects an envelope without %s, naming it",
    (field) => {
      const body: Record<string, unknown> = envelope("order.shipped", VALID["order.shipped"] ?? {});
      delete body[field];
      const parsed = parseEvent(body);
      expect(parsed.ok).toBe(false);
      expect(!parsed.ok && parsed.issues).toContain(field);
    },
  );

  it.each([
    ["an occurredAt with an offset (times are UTC, with Z)", { occurredAt: "2026-11-24T11:00:00+01:00" }, "occurredAt"],
    [
      "an upper-case traceparent",
      { traceparent: "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01" },
      "traceparent",
    ],
    ["a fractional sequence", { sequence: 1.5 }, "sequence"],
    ["a subject over 64 characters", { subject: "s".repeat(65) }, "subject"],
    ["data that is not an object", { data: "hello" }, "data"],
  ])("rejects %s", (_name, overrides, field) => {
    const parsed = parseEvent(envelope("order.shipped", VALID["order.shipped"] ?? {}, overrides));
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.issues).toContain(field);
  });

  it("is not strict: unknown envelope and data fields are dropped, not kept and not refused", () => {
    const data = VALID["order.shipped"] ?? {};
    const body = envelope("order.shipped", { ...data, carrier: "UPS" }, { priority: "high" });
    expect(EnvelopeSchema.safeParse(body).success).toBe(true);
    expect(parseEvent(body)).toEqual({ ok: true, event: envelope("order.shipped", data) });
  });

  it("checks data against the schema of the envelope's own type", () => {
    // Valid order.shipped data is not valid order.confirmed data.
    const parsed = parseEvent(envelope("order.confirmed", VALID["order.shipped"] ?? {}));
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.issues).toMatch(/totalCents/);
  });
});

describe("the replay and redrive inputs", () => {
  const from = "2026-11-24T10:00:00Z";

  it("accepts a range, optional types and a known subscriber", () => {
    expect(ReplayInputSchema.safeParse({ from, subscriber: "notifications" }).success).toBe(true);
    expect(
      ReplayInputSchema.safeParse({ from, to: from, types: ["order.shipped"], subscriber: "notifications" }).success,
    ).toBe(true);
  });

  it("compares `from` and `to` as instants, offsets included, and reports the order on `to`", () => {
    // 10:00+02:00 is 08:00Z: a `to` of 09:00Z is after it, though it sorts before it as text.
    expect(
      ReplayInputSchema.safeParse({
        from: "2026-11-24T10:00:00+02:00",
        to: "2026-11-24T09:00:00Z",
        subscriber: "notifications",
      }).success,
    ).toBe(true);
    const refused = ReplayInputSchema.safeParse({
      from: "2026-11-24T10:00:00Z",
      to: "2026-11-24T11:00:00+02:00",
      subscriber: "notifications",
    });
    expect(refused.success).toBe(false);
    expect(refused.error?.issues.map((i) => i.path)).toEqual([["to"]]);
  });

  it.each([
    ["`to` before `from`", { from, to: "2026-11-24T09:59:59Z", subscriber: "notifications" }],
    ["a `from` that is not a time", { from: "yesterday", subscriber: "notifications" }],
    ["a date without a time", { from: "2026-11-24", subscriber: "notifications" }],
    ["more types than the catalogue has", { from, types: Array(19).fill("user.created"), subscriber: "notifications" }],
    ["an unknown subscriber", { from, subscriber: "analytics" }],
    ["an unknown type", { from, types: ["user.deleted"], subscriber: "notifications" }],
    ["empty types", { from, types: [], subscriber: "notifications" }],
    ["an unknown field", { from, subscriber: "notifications", dryRun: true }],
    ["no from", { subscriber: "notifications" }],
  ])("rejects %s", (_name, input) => {
    expect(ReplayInputSchema.safeParse(input).success).toBe(false);
  });

  it("redrive takes 1..100 ids or none, and nothing else", () => {
    expect(RedriveInputSchema.safeParse({}).success).toBe(true);
    expect(RedriveInputSchema.safeParse({ ids: ["dlt_1"] }).success).toBe(true);
    expect(RedriveInputSchema.safeParse({ ids: [] }).success).toBe(false);
    expect(RedriveInputSchema.safeParse({ ids: Array.from({ length: 101 }, (_, i) => `dlt_${i}`) }).success).toBe(
      false,
    );
    expect(RedriveInputSchema.safeParse({ ids: ["dlt_1"], all: true }).success).toBe(false);
  });
});

describe("the RPC inputs of shop-events", () => {
  const letter = {
    queue: "shop-notifications",
    messageId: "m-1",
    body: { any: "thing" },
    reason: "unreadable",
    attempts: 0,
  };

  it("a dead letter needs a queue, a message id, a reason and attempts; its body can be anything", () => {
    expect(DeadLetterInputSchema.safeParse(letter).success).toBe(true);
    expect(DeadLetterInputSchema.safeParse({ ...letter, body: "not json" }).success).toBe(true);
    for (const bad of [
      { ...letter, queue: "" },
      { ...letter, messageId: "" },
      { ...letter, messageId: "m".repeat(129) },
      { ...letter, reason: "" },
      { ...letter, reason: "r".repeat(2001) },
      { ...letter, attempts: -1 },
      { ...letter, attempts: 1.5 },
    ]) {
      expect(DeadLetterInputSchema.safeParse(bad).success, JSON.stringify(bad).slice(0, 80)).toBe(false);
    }
  });

  it("stored() takes up to 500 event ids and nothing else", () => {
    const ids = Array.from({ length: 501 }, (_, i) => `evt_01jd${String(i).padStart(22, "0")}`);
    expect(StoredQuerySchema.safeParse(ids.slice(0, 500)).success).toBe(true);
    expect(StoredQuerySchema.safeParse(ids).success).toBe(false);
    expect(StoredQuerySchema.safeParse(["ord_01jd0000000000000000000000"]).success).toBe(false);
    expect(StoredQuerySchema.safeParse("evt_01jd0000000000000000000000").success).toBe(false);
  });

  it("the log's filters take known types and ISO times with an offset", () => {
    expect(EventQuerySchema.safeParse({ type: "order.shipped", from: "2026-11-24T10:00:00+02:00" }).success).toBe(true);
    expect(EventQuerySchema.safeParse({ type: "order.deleted" }).success).toBe(false);
    expect(EventQuerySchema.safeParse({ to: "2026-11-24" }).success).toBe(false);
  });
});
