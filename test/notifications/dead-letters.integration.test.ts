import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { newId } from "#shared/ids";
import { type Delivery, deliver, envelope, inboxHas, newUser, QUEUE, userCreated } from "./helpers";

/**
 * Messages that are not valid events are acked (so they do not loop) after the real shop-events
 * stored them as dead letters through its `recordDeadLetter` RPC.
 */

interface DeadLetterRow {
  queue: string;
  message_id: string;
  reason: string;
  attempts: number;
  body: string;
}

async function deadLetter(messageId: string): Promise<DeadLetterRow | null> {
  return env.EVENTS_DB.prepare(
    "SELECT queue, message_id, reason, attempts, body FROM dead_letters WHERE queue = ? AND message_id = ?",
  )
    .bind(QUEUE, messageId)
    .first<DeadLetterRow>();
}

describe("invalid messages", () => {
  it("are acked and stored as dead letters in events-db, each with the reason", async () => {
    const user = newUser();
    const valid = userCreated(user);
    const orderId = newId("ord");
    const cases: { name: string; body: unknown; reason: RegExp; eventId?: string }[] = [
      { name: "bad envelope", body: { hello: "world" }, reason: /id|type/ },
      { name: "not an object", body: "just some text", reason: /not a valid event/ },
      { name: "unknown type", body: { ...valid, id: newId("evt"), type: "order.exploded" }, reason: /type/ },
      { name: "wrong version", body: { ...valid, id: newId("evt"), version: 2 }, reason: /version.*v2/ },
      {
        name: "bad data",
        body: envelope(
          "order.confirmed",
          // userId missing: the data does not match the catalogue
          { orderId, totalCents: 100, currency: "EUR" } as never,
          { subject: orderId },
        ),
        reason: /data\.userId/,
      },
    ];
    const messages: Delivery[] = cases.map((c) => ({ id: crypto.randomUUID(), body: c.body, attempts: 3 }));

    const result = await deliver(messages);
    expect([...result.explicitAcks].sort()).toEqual(messages.map((m) => m.id).sort());
    expect(result.retryMessages).toEqual([]);

    for (const [i, c] of cases.entries()) {
      const message = messages[i] as Delivery;
      const letter = await deadLetter(message.id);
      expect(letter, c.name).not.toBeNull();
      expect(letter?.reason, c.name).toMatch(c.reason);
      expect(letter?.attempts, c.name).toBe(3);
      expect(JSON.parse(letter?.body ?? "null"), c.name).toEqual(c.body);
      const id = (c.body as { id?: unknown } | null)?.id;
      if (typeof id === "string") expect(await inboxHas(id), c.name).toBe(false);
    }
    const none = await env.DB.prepare("SELECT count(*) AS n FROM notifications WHERE user_id = ?")
      .bind(user.userId)
      .first<{ n: number }>();
    expect(none?.n).toBe(0);
  });

  it("a valid message beside them in the batch is handled as usual", async () => {
    const user = newUser({ phone: null });
    const good: Delivery = { id: crypto.randomUUID(), body: userCreated(user) };
    const bad: Delivery = { id: crypto.randomUUID(), body: { type: "user.created" } };
    const result = await deliver([good, bad]);
    expect([...result.explicitAcks].sort()).toEqual([good.id, bad.id].sort());
    expect(await deadLetter(bad.id)).not.toBeNull();
    expect(await deadLetter(good.id)).toBeNull();
    expect(await inboxHas((good.body as { id: string }).id)).toBe(true);
  });
});
