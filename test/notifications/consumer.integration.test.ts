import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { newId } from "#shared/ids";
import { retryDelaySeconds } from "../../workers/notifications/src/config";
import {
  asMessages,
  contactOf,
  type Delivery,
  deliver,
  deliveryCounts,
  inboxHas,
  newTraceparent,
  newUser,
  notificationsOfEvent,
  notificationsOfUser,
  orderConfirmed,
  userCreated,
  userUpdated,
} from "./helpers";

/**
 * The queue consumer: each message settled explicitly, an order event for a user not known yet
 * retried with a growing delay, each message recorded and sent once however the queue redelivers,
 * and the directory never overwritten by an older event.
 */

const ids = (messages: Delivery[]) => messages.map((m) => m.id).sort();

afterEach(() => {
  vi.restoreAllMocks();
});

describe("explicit acks and retries", () => {
  it("acks every message of a valid batch, one by one, and retries none", async () => {
    const user = newUser();
    const messages = asMessages(userCreated(user), userUpdated({ ...user, name: "Ada L." }, 2));
    const result = await deliver(messages);
    expect(result.ackAll).toBe(false);
    expect(result.retryBatch.retry).toBe(false);
    expect([...result.explicitAcks].sort()).toEqual(ids(messages));
    expect(result.retryMessages).toEqual([]);
    expect(await contactOf(user.userId)).toMatchObject({ name: "Ada L.", sequence: 2 });
  });

  it("retries an order event for an unknown user with a growing delay, records nothing, and sends it once the user is known", async () => {
    const user = newUser({ phone: null });
    const order = orderConfirmed(user);
    const message: Delivery = { id: crypto.randomUUID(), body: order, attempts: 1 };

    const first = await deliver([message]);
    expect(first.explicitAcks).toEqual([]);
    // NOTIFICATION_RETRY_BASE_SECONDS = 2 in this project: 2 s, then doubling.
    expect(first.retryMessages).toEqual([{ msgId: message.id, delaySeconds: 2 }]);
    const third = await deliver([{ ...message, attempts: 3 }]);
    expect(third.retryMessages).toEqual([{ msgId: message.id, delaySeconds: 8 }]);
    expect(await notificationsOfEvent(order.id)).toEqual([]);
    expect(await inboxHas(order.id)).toBe(false);

    const created = await deliver(asMessages(userCreated(user)));
    expect(created.explicitAcks).toHaveLength(1);

    const retried = await deliver([{ ...message, attempts: 4 }]);
    expect(retried.explicitAcks).toEqual([message.id]);
    expect(retried.retryMessages).toEqual([]);
    const [mail, ...rest] = await notificationsOfEvent(order.id);
    expect(rest).toEqual([]);
    expect(mail).toMatchObject({
      channel: "email",
      template: "order.confirmed",
      to_address: user.email,
      order_id: order.data.orderId,
      user_id: user.userId,
    });
    expect(mail?.sent_at).not.toBeNull();
    expect(await deliveryCounts([mail?.id as string])).toEqual({ [mail?.id as string]: 1 });
  });

  it("a redelivery of a handled event is acked and sends nothing again", async () => {
    const user = newUser();
    const messages = asMessages(userCreated(user));
    await deliver(messages);
    const sent = await notificationsOfUser(user.userId);
    expect(sent).toHaveLength(2);
    const again = await deliver(messages.map((m) => ({ ...m, attempts: 2 })));
    expect(again.explicitAcks).toEqual(ids(messages));
    expect((await notificationsOfUser(user.userId)).map((n) => n.id)).toEqual(sent.map((n) => n.id));
    expect(Object.values(await deliveryCounts(sent.map((n) => n.id)))).toEqual([1, 1]);
  });

  it("the retry delay doubles from the configured base, capped at 5 minutes", () => {
    expect([1, 2, 3, 4].map((attempts) => retryDelaySeconds(2, attempts))).toEqual([2, 4, 8, 16]);
    expect(retryDelaySeconds(1, 20)).toBe(300);
    expect(retryDelaySeconds(0, 5)).toBe(0);
  });
});

describe("each message once, whatever the redeliveries", () => {
  it("the same batch delivered three times at once records one notification per event and channel and sends each once", async () => {
    const withPhone = newUser({ phone: "+4915112345678" });
    const withoutPhone = newUser({ phone: null });
    const users = asMessages(userCreated(withPhone), userCreated(withoutPhone));
    const orders = asMessages(orderConfirmed(withPhone), orderConfirmed(withoutPhone));

    for (const batch of [users, orders]) {
      const results = await Promise.all([deliver(batch), deliver(batch), deliver(batch)]);
      // Every message is settled explicitly by every delivery: acked, or (when another delivery
      // held its send) retried to check again later; never both, never neither.
      for (const result of results) {
        for (const { id } of batch) {
          const acked = result.explicitAcks.includes(id);
          const retried = result.retryMessages.some((r) => r.msgId === id);
          expect(acked !== retried, `message ${id}: acked ${acked}, retried ${retried}`).toBe(true);
        }
      }
    }

    const phoneRows = await notificationsOfUser(withPhone.userId);
    const noPhoneRows = await notificationsOfUser(withoutPhone.userId);
    const summary = (rows: typeof phoneRows) => rows.map((r) => `${r.template}/${r.channel}`).sort();
    expect(summary(phoneRows)).toEqual(["order.confirmed/email", "user.created/email", "user.created/sms"]);
    expect(summary(noPhoneRows)).toEqual(["order.confirmed/email", "user.created/email"]);
    expect(phoneRows.find((r) => r.channel === "sms")?.to_address).toBe("+4915112345678");

    const all = [...phoneRows, ...noPhoneRows];
    expect(await deliveryCounts(all.map((r) => r.id))).toEqual(Object.fromEntries(all.map((r) => [r.id, 1])));
    expect(all.every((r) => r.sent_at !== null && r.claimed_until === null)).toBe(true);

    // A later redelivery of everything: all acked, still one send each.
    const late = await deliver([...users, ...orders].map((m) => ({ ...m, attempts: 2 })));
    expect([...late.explicitAcks].sort()).toEqual(ids([...users, ...orders]));
    expect(await deliveryCounts(all.map((r) => r.id))).toEqual(Object.fromEntries(all.map((r) => [r.id, 1])));
  });
});

describe("the contact directory", () => {
  it("an older user.updated arriving after a newer one does not overwrite it", async () => {
    const user = newUser();
    await deliver(asMessages(userCreated(user)));
    const newer = userUpdated({ ...user, email: `new-${user.email}`, name: "Newer", phone: null }, 3);
    const older = userUpdated({ ...user, email: `old-${user.email}`, name: "Older", phone: "+14155550999" }, 2);
    expect((await deliver(asMessages(newer))).explicitAcks).toHaveLength(1);
    const late = asMessages(older);
    expect((await deliver(late)).explicitAcks).toEqual(ids(late));

    expect(await contactOf(user.userId)).toEqual({
      user_id: user.userId,
      email: `new-${user.email}`,
      name: "Newer",
      phone: null,
      role: "customer",
      sequence: 3,
    });
    // Updates send nothing; the next order email goes to the newest address.
    expect(await notificationsOfEvent(newer.id)).toEqual([]);
    expect(await notificationsOfEvent(older.id)).toEqual([]);
    const order = orderConfirmed(user);
    await deliver(asMessages(order));
    expect((await notificationsOfEvent(order.id)).map((n) => n.to_address)).toEqual([`new-${user.email}`]);
  });
  it("a user.created arriving after a newer user.updated welcomes the user at the newer address", async () => {
    const user = newUser({ phone: null });
    const moved = { ...user, email: `moved-${user.email}`, phone: "+14155550177" };
    await deliver(asMessages(userUpdated(moved, 2)));
    const created = userCreated(user);
    await deliver(asMessages(created));
    expect(await contactOf(user.userId)).toMatchObject({ email: moved.email, phone: moved.phone, sequence: 2 });
    expect((await notificationsOfEvent(created.id)).map((n) => [n.channel, n.to_address])).toEqual([
      ["email", moved.email],
      ["sms", moved.phone],
    ]);
  });
});

describe("tracing", () => {
  it("each notification keeps its event's traceparent, and every log line carries the trace id", async () => {
    const lines: Record<string, unknown>[] = [];
    const capture = (text: unknown) => {
      try {
        const line = JSON.parse(String(text)) as Record<string, unknown>;
        if (line.service === "shop-notifications") lines.push(line);
      } catch {
        // not a log line of ours
      }
    };
    for (const level of ["log", "warn", "error"] as const) vi.spyOn(console, level).mockImplementation(capture);

    const user = newUser();
    const traceparent = newTraceparent();
    const traceId = traceparent.split("-")[1];
    const created = userCreated(user, traceparent);
    const pending = orderConfirmed(newUser()); // unknown user: a "deferred" line
    await deliver(asMessages(created, pending));

    const rows = await notificationsOfEvent(created.id);
    expect(rows).toHaveLength(2);
    expect(rows.map((r) => r.traceparent)).toEqual([traceparent, traceparent]);

    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line.traceId, JSON.stringify(line)).toMatch(/^[0-9a-f]{32}$/);
    const ofCreated = lines.filter((l) => l.eventId === created.id || rows.some((r) => r.id === l.notificationId));
    // handled + sent x2 + delivered (local sender) x2
    expect(ofCreated.length).toBeGreaterThanOrEqual(5);
    expect(ofCreated.every((l) => l.traceId === traceId)).toBe(true);
    expect(lines.some((l) => l.eventId === pending.id && l.traceId === pending.traceparent?.split("-")[1])).toBe(true);
  });
});

describe("inbox housekeeping", () => {
  it("deletes inbox rows past INBOX_RETENTION_DAYS, and a replay of such an old event still sends nothing twice", async () => {
    const day = 86_400_000;
    const user = newUser();
    const event = userCreated(user);
    const created = asMessages(event);
    await deliver(created);
    const sent = await notificationsOfUser(user.userId);
    expect(sent).toHaveLength(2);
    const eventId = event.id;
    const recent = newId("evt");
    await env.DB.batch([
      env.DB.prepare("UPDATE inbox SET processed_at = ? WHERE event_id = ?").bind(Date.now() - 31 * day, eventId),
      env.DB.prepare("INSERT INTO inbox (event_id, type, processed_at) VALUES (?, 'user.updated', ?)").bind(
        recent,
        Date.now() - 29 * day,
      ),
    ]);

    // Any batch sweeps a few old rows.
    await deliver(asMessages(userCreated(newUser())));
    expect(await inboxHas(eventId)).toBe(false);
    expect(await inboxHas(recent)).toBe(true);

    const replay = await deliver(created.map((m) => ({ ...m, id: crypto.randomUUID() })));
    expect(replay.explicitAcks).toHaveLength(1);
    expect((await notificationsOfUser(user.userId)).map((n) => n.id).sort()).toEqual(sent.map((n) => n.id).sort());
    expect(Object.values(await deliveryCounts(sent.map((n) => n.id)))).toEqual([1, 1]);
  });
});
