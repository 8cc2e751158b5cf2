import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { parseEvent } from "#shared/contracts/events";
import { deadLetterRetryDelay } from "../../workers/events/src/dead-letters";
import {
  acked,
  asMessages,
  type Delivery,
  deadLettersOf,
  deliver,
  forwardedAt,
  idsOf,
  insertStored,
  orderConfirmed,
  productCreated,
  settledReceived,
  storedCount,
  userCreated,
} from "./helpers";

/**
 * The bus: shop-events consuming `shop-events`. Each message is acked on its own; each event is
 * stored once by id and forwarded to the subscriber queues that want its type; a message that is
 * not a valid event is kept as a dead letter and acked instead of being retried.
 */
// Forwarding is observed through the real queue: some tests wait for its batches.
describe("the shop-events consumer", { timeout: 30_000 }, () => {
  it("acks every message of a valid batch explicitly, stores each event once and retries none", async () => {
    const events = [userCreated(), productCreated(), orderConfirmed()];
    const messages = asMessages(...events);
    const result = await deliver("shop-events", messages);
    expect(acked(result)).toEqual(idsOf(messages));
    expect(result.retryMessages).toEqual([]);
    expect(result.ackAll).toBe(false);
    expect(result.retryBatch.retry).toBe(false);
    for (const event of events) {
      expect(await storedCount(event.id)).toBe(1);
      const row = await env.DB.prepare("SELECT envelope, traceparent, type, subject FROM events WHERE id = ?")
        .bind(event.id)
        .first<{ envelope: string; traceparent: string; type: string; subject: string }>();
      expect(parseEvent(JSON.parse(row?.envelope ?? "null"))).toEqual({ ok: true, event });
      expect(row).toMatchObject({ traceparent: event.traceparent, type: event.type, subject: event.subject });
    }

    // The queue delivers the same batch again (at least once): all acked again, nothing stored twice.
    const again = await deliver(
      "shop-events",
      messages.map((m) => ({ ...m, attempts: 2 })),
    );
    expect(acked(again)).toEqual(idsOf(messages));
    expect(again.retryMessages).toEqual([]);
    for (const event of events) expect(await storedCount(event.id)).toBe(1);
  });

  it("forwards an event to the subscriber that wants its type, and no other", async () => {
    const wanted = userCreated();
    const unwanted = productCreated();
    await deliver("shop-events", asMessages(wanted, unwanted));
    expect(await settledReceived(wanted.id, 1)).toBe(1);
    expect(await settledReceived(unwanted.id, 0)).toBe(0);
    // Both are in the log; forwarding is recorded as finished once every subscriber has it.
    expect(await storedCount(unwanted.id)).toBe(1);
    expect(await forwardedAt(wanted.id)).toEqual(expect.any(Number));
    const received = await env.SUBSCRIBER_DB.prepare("SELECT body FROM received WHERE event_id = ?")
      .bind(wanted.id)
      .first<{ body: string }>();
    expect(JSON.parse(received?.body ?? "null")).toEqual(wanted);
  });

  it("the same batch delivered three times at once stores each event once, acks all, forwards each once", async () => {
    const events = [userCreated(), orderConfirmed(), productCreated()];
    const messages = asMessages(...events);
    const results = await Promise.all([1, 2, 3].map(() => deliver("shop-events", messages)));
    for (const result of results) {
      expect(acked(result)).toEqual(idsOf(messages));
      expect(result.retryMessages).toEqual([]);
    }
    for (const event of events) expect(await storedCount(event.id)).toBe(1);
    // Forwarding is at least once by design (subscribers' inboxes make it once); concurrent
    // deliveries may each forward before one records it. Afterwards it is recorded as done.
    const [user, order] = events;
    expect(await settledReceived(user?.id ?? "", 1)).toBeGreaterThanOrEqual(1);
    expect(await settledReceived(order?.id ?? "", 1)).toBeGreaterThanOrEqual(1);
    expect(await forwardedAt(user?.id ?? "")).toEqual(expect.any(Number));
  });

  it("a redelivery of an event already stored and forwarded is acked and not forwarded again", async () => {
    const event = userCreated();
    const messages = asMessages(event);
    await deliver("shop-events", messages);
    expect(await settledReceived(event.id, 1)).toBe(1);
    const again = await deliver("shop-events", [{ ...messages[0], attempts: 2 } as Delivery]);
    expect(acked(again)).toEqual(idsOf(messages));
    expect(await settledReceived(event.id, 1)).toBe(1);
    expect(await storedCount(event.id)).toBe(1);
  });

  it("a stored event whose forwarding never finished is forwarded when it comes again", async () => {
    const event = orderConfirmed();
    await deliver("shop-events", asMessages(event));
    expect(await settledReceived(event.id, 1)).toBe(1);
    // As if the worker died between storing and forwarding.
    await env.DB.prepare("UPDATE events SET forwarded_at = NULL WHERE id = ?").bind(event.id).run();
    await deliver("shop-events", asMessages(event));
    expect(await settledReceived(event.id, 2)).toBe(2);
    expect(await storedCount(event.id)).toBe(1);
  });

  it("invalid messages are acked, not retried, and kept as dead letters with the reason; valid ones beside them are stored", async () => {
    const valid = userCreated();
    const unknownType = { ...userCreated(), type: "user.deleted" };
    const badData = { ...orderConfirmed(), data: { orderId: "nope" } };
    const wrongVersion = { ...productCreated(), version: 7 };
    const messages = asMessages("not json at all", { hello: "world" }, unknownType, badData, wrongVersion, valid);
    const result = await deliver("shop-events", messages);
    expect(acked(result)).toEqual(idsOf(messages));
    expect(result.retryMessages).toEqual([]);
    expect(await storedCount(valid.id)).toBe(1);
    for (const bad of [unknownType, badData, wrongVersion]) expect(await storedCount(bad.id)).toBe(0);
    for (const message of messages.slice(0, 5)) {
      const letters = await deadLettersOf(message.id);
      expect(letters, JSON.stringify(message.body)).toHaveLength(1);
      expect(letters[0]).toMatchObject({ queue: "shop-events", redriven_at: null });
      expect(letters[0]?.reason).toMatch(/^invalid event: /);
      expect(JSON.parse(letters[0]?.body ?? "null")).toEqual(message.body);
    }
    expect((await deadLettersOf(messages[4]?.id ?? ""))[0]?.reason).toContain("version");
    expect(await deadLettersOf(messages[5]?.id ?? "")).toEqual([]);
  });

  it("a message whose storing fails is retried with a delay, and the others of the batch are acked", async () => {
    const good = userCreated();
    // An id longer than the schema allows cannot be built; make D1 refuse this one row instead.
    const refused = productCreated();
    await env.DB.exec(
      `CREATE TRIGGER refuse_one BEFORE INSERT ON events WHEN NEW.id = '${refused.id}' BEGIN SELECT RAISE(ABORT, 'disk full'); END`,
    );
    try {
      const messages = asMessages(good, refused);
      const result = await deliver("shop-events", messages);
      expect(acked(result)).toEqual([messages[0]?.id]);
      expect(result.retryMessages.map((r) => r.msgId)).toEqual([messages[1]?.id]);
      expect(await storedCount(refused.id)).toBe(0);
      expect(await deadLettersOf(messages[1]?.id ?? "")).toEqual([]);
    } finally {
      await env.DB.exec("DROP TRIGGER refuse_one");
    }
  });
});

describe("the dead-letter queues", () => {
  it("messages from shop-events-dlq and shop-notifications-dlq are stored under the queue they failed on, and acked", async () => {
    const fromBus = asMessages(userCreated(), "garbage");
    const fromNotifications = asMessages(orderConfirmed());
    const first = await deliver(
      "shop-events-dlq",
      fromBus.map((m) => ({ ...m, attempts: 6 })),
    );
    const second = await deliver(
      "shop-notifications-dlq",
      fromNotifications.map((m) => ({ ...m, attempts: 11 })),
    );
    expect(acked(first)).toEqual(idsOf(fromBus));
    expect(acked(second)).toEqual(idsOf(fromNotifications));
    for (const message of fromBus) {
      expect(await deadLettersOf(message.id)).toEqual([
        expect.objectContaining({
          queue: "shop-events",
          attempts: 6,
          reason: "gave up after the retries of shop-events",
        }),
      ]);
    }
    const [letter] = await deadLettersOf(fromNotifications[0]?.id ?? "");
    expect(letter).toMatchObject({ queue: "shop-notifications", attempts: 11 });
    expect(JSON.parse(letter?.body ?? "null")).toEqual(fromNotifications[0]?.body);
  });

  it("a dead letter that cannot be stored is retried, with a delay growing from 5 s to an hour", async () => {
    const messages = asMessages(orderConfirmed(), orderConfirmed());
    await env.DB.exec(
      `CREATE TRIGGER refuse_letter BEFORE INSERT ON dead_letters WHEN NEW.message_id = '${messages[1]?.id}' BEGIN SELECT RAISE(ABORT, 'disk full'); END`,
    );
    try {
      const result = await deliver("shop-notifications-dlq", messages);
      expect(acked(result)).toEqual([messages[0]?.id]);
      expect(result.retryMessages.map((r) => r.msgId)).toEqual([messages[1]?.id]);
      expect(await deadLettersOf(messages[1]?.id ?? "")).toEqual([]);
    } finally {
      await env.DB.exec("DROP TRIGGER refuse_letter");
    }
    expect([1, 2, 3, 10, 100].map(deadLetterRetryDelay)).toEqual([5, 10, 20, 2560, 3600]);
  });

  it("the same dead-letter message delivered twice is stored once", async () => {
    const messages = asMessages(orderConfirmed());
    await Promise.all([deliver("shop-notifications-dlq", messages), deliver("shop-notifications-dlq", messages)]);
    expect(await deadLettersOf(messages[0]?.id ?? "")).toHaveLength(1);
  });
});

describe("retention", () => {
  const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();
  const countOlderThan = async (days: number) =>
    (
      await env.DB.prepare("SELECT count(*) AS n FROM events WHERE occurred_at < ?")
        .bind(daysAgo(days))
        .first<{ n: number }>()
    )?.n ?? 0;

  it("events older than EVENT_RETENTION_DAYS leave the log as new batches arrive; newer ones stay", async () => {
    const old = userCreated({ occurredAt: daysAgo(31) });
    const recent = userCreated({ occurredAt: daysAgo(29) });
    await insertStored(old);
    await insertStored(recent);
    await deliver("shop-events", asMessages(productCreated()));
    expect(await storedCount(old.id)).toBe(0);
    expect(await storedCount(recent.id)).toBe(1);
  });

  it("deletes at most 100 old events per batch, so a large backlog goes a little at a time", async () => {
    const old = Array.from({ length: 101 }, (_, i) => productCreated({ occurredAt: daysAgo(40 + i / 1000) }));
    for (const event of old) await insertStored(event);
    expect(await countOlderThan(30)).toBe(101);

    await deliver("shop-events", asMessages(productCreated()));
    expect(await countOlderThan(30)).toBe(1);
    await deliver("shop-events", asMessages(productCreated()));
    expect(await countOlderThan(30)).toBe(0);
  });
});
