import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { newId } from "#shared/ids";
import type { operations } from "../../clients/typescript/src/index";
import { call, expectStatus, registerAndLogin, shopClient, type TestUser } from "./helpers";

/**
 * Domain events end to end, as users and operators meet them through the gateway: every service
 * publishes through its outbox into the real `shop-events` queue, shop-events logs and fans out to
 * the real `shop-notifications` queue, and shop-notifications sends each message once. Users and
 * operators use the typed client (`user.shop`); the invalid filters and replay stay raw requests.
 */

interface Notification {
  id: string;
  channel: "email" | "sms";
  template: string;
  to: string;
  subject?: string | null;
  body: string;
  eventId: string;
  orderId?: string | null;
}

interface Envelope {
  id: string;
  type: string;
  subject: string;
  sequence: number;
  source: string;
  traceparent: string | null;
  data: Record<string, unknown>;
}

const WAIT = { timeout: 15_000, interval: 200 };

async function notificationsOf(user: TestUser): Promise<Notification[]> {
  const res = await user.shop.api.GET("/api/notifications", { params: { query: { limit: 100 } } });
  return expectStatus(res, 200).items as Notification[];
}

/** Waits until the user has `count` notifications, then checks no more arrive for a moment. */
async function settledNotifications(user: TestUser, count: number): Promise<Notification[]> {
  await vi.waitFor(async () => expect(await notificationsOf(user)).toHaveLength(count), WAIT);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const items = await notificationsOf(user);
  expect(items).toHaveLength(count);
  return items;
}

async function deliveriesOf(notificationIds: string[]): Promise<number> {
  const row = await env.NOTIFICATIONS_DB.prepare(
    "SELECT count(*) AS n FROM deliveries WHERE notification_id IN (SELECT value FROM json_each(?))",
  )
    .bind(JSON.stringify(notificationIds))
    .first<{ n: number }>();
  return row?.n ?? 0;
}

async function product(admin: TestUser, stock: number): Promise<string> {
  const res = await admin.shop.api.POST("/api/products", {
    body: { name: `Events ${crypto.randomUUID().slice(0, 6)}`, priceCents: 900, currency: "EUR", stock },
  });
  return expectStatus(res, 201).id;
}

async function placeOrder(user: TestUser, productId: string, traceparent?: string): Promise<string> {
  const res = await user.shop.api.POST("/api/orders", {
    params: { header: { "idempotency-key": crypto.randomUUID() } },
    body: { items: [{ productId, quantity: 1 }] },
    headers: traceparent ? { traceparent } : {},
  });
  const order = expectStatus(res, 201);
  expect(order.status).toBe("confirmed");
  return order.id;
}

type EventQuery = NonNullable<operations["listEvents"]["parameters"]["query"]>;

async function adminEvents(admin: TestUser, query: EventQuery): Promise<Envelope[]> {
  const res = await admin.shop.api.GET("/api/admin/events", { params: { query } });
  return expectStatus(res, 200).items as Envelope[];
}

// Each test waits on real queues (batch timeouts, retries with delays); give them room.
describe("events and notifications through the gateway", { timeout: 60_000 }, () => {
  it("a user's life: welcome email and SMS, order confirmed, cancelled and shipped, each message once", async () => {
    const started = new Date(Date.now() - 1000).toISOString();
    const admin = await registerAndLogin({ role: "admin" });
    const traceId = crypto.randomUUID().replaceAll("-", "");
    const shop = shopClient();
    const registered = await shop.api.POST("/api/auth/register", {
      body: {
        email: `life-${Date.now()}@example.com`,
        password: "a-long-enough-password",
        name: "Lin",
        phone: "+4915112345678",
      },
      headers: { traceparent: `00-${traceId}-1111111111111111-01` },
    });
    const { id, email } = expectStatus(registered, 201);
    const tokens = await shop.login(email, "a-long-enough-password");
    const user: TestUser = { id, email, password: "", ...tokens, shop };

    const welcome = await settledNotifications(user, 2);
    expect(welcome.map((n) => n.channel).sort()).toEqual(["email", "sms"]);
    expect(welcome.find((n) => n.channel === "sms")?.to).toBe("+4915112345678");
    expect(welcome.find((n) => n.channel === "email")?.to).toBe(email);

    // The trace of the registration reached the notifications, through two queues.
    const traced = await env.NOTIFICATIONS_DB.prepare("SELECT traceparent FROM notifications WHERE user_id = ?")
      .bind(id)
      .all<{ traceparent: string | null }>();
    expect(traced.results.map((r) => r.traceparent?.split("-")[1])).toEqual([traceId, traceId]);

    const productId = await product(admin, 10);
    const orderTrace = crypto.randomUUID().replaceAll("-", "");
    const kept = await placeOrder(user, productId, `00-${orderTrace}-2222222222222222-01`);
    const cancelled = await placeOrder(user, productId);
    const cancel = await user.shop.api.POST("/api/orders/{id}/cancel", { params: { path: { id: cancelled } } });
    expect(cancel.response.status).toBe(200);
    const ship = await admin.shop.api.POST("/api/orders/{id}/ship", {
      params: { path: { id: kept } },
      body: { trackingNumber: "TRK-SYS-1" },
    });
    expect(ship.response.status).toBe(200);

    // welcome x2, confirmed x2, cancelled, shipped
    const all = await settledNotifications(user, 6);
    const emailsFor = (orderId: string) =>
      all
        .filter((n) => n.orderId === orderId)
        .map((n) => n.template)
        .sort();
    expect(emailsFor(kept)).toEqual(["order.confirmed", "order.shipped"].sort());
    expect(emailsFor(cancelled)).toEqual(["order.cancelled", "order.confirmed"].sort());
    const shipped = all.find((n) => n.orderId === kept && n.template === "order.shipped");
    expect(shipped?.body).toContain("TRK-SYS-1");
    expect(`${shipped?.subject} ${shipped?.body}`).toContain(kept);
    const cancelledMail = all.find((n) => n.orderId === cancelled && n.template === "order.cancelled");
    expect(cancelledMail?.body.toLowerCase()).toContain("cancelled");
    expect(await deliveriesOf(all.map((n) => n.id))).toBe(6);

    // The operator's view: the order's story in the log, with the placing request's trace.
    const story = await vi.waitFor(async () => {
      const events = await adminEvents(admin, { subject: kept, limit: 100 });
      expect(events.map((e) => e.type)).toContain("order.shipped");
      return events;
    }, WAIT);
    const types = story.map((e) => e.type);
    for (const type of ["order.created", "order.confirmed", "order.saga.completed", "order.shipped"]) {
      expect(types).toContain(type);
    }
    const confirmed = story.find((e) => e.type === "order.confirmed");
    expect(confirmed?.traceparent?.split("-")[1]).toBe(orderTrace);

    // A replay of everything since the start re-sends the events; nothing already done happens again.
    const replay = await admin.shop.api.POST("/api/admin/events/replay", {
      body: { from: started, subscriber: "notifications" },
    });
    const { replayed } = expectStatus(replay, 200);
    expect(replayed).toBeGreaterThanOrEqual(6);
    const after = await settledNotifications(user, 6);
    expect(after.map((n) => n.id).sort()).toEqual(all.map((n) => n.id).sort());
    expect(await deliveriesOf(all.map((n) => n.id))).toBe(6);
  });

  it("nobody sees another user's notifications; anonymous callers get 401", async () => {
    const first = await registerAndLogin();
    const second = await registerAndLogin();
    await settledNotifications(first, 1);
    const mine = await notificationsOf(second);
    expect(mine.every((n) => !n.to.includes(first.email))).toBe(true);
    const anonymous = await shopClient().api.GET("/api/notifications");
    expect(anonymous.response.status).toBe(401);
    expect(anonymous.response.headers.get("content-type")).toBe("application/problem+json");
  });

  it("the admin event API: filters, validation, and admin only", async () => {
    const admin = await registerAndLogin({ role: "admin" });
    const user = await registerAndLogin();
    const created = await vi.waitFor(async () => {
      const events = await adminEvents(admin, { type: "user.created", subject: user.id });
      expect(events).toHaveLength(1);
      return events;
    }, WAIT);
    expect(created[0]).toMatchObject({ type: "user.created", source: "shop-users", subject: user.id, sequence: 1 });
    expect((await user.shop.api.GET("/api/admin/events")).response.status).toBe(403);
    expect((await shopClient().api.GET("/api/admin/events")).response.status).toBe(401);
    expect((await call("/api/admin/events?type=no.such.type", { token: admin.accessToken })).status).toBe(400);
    const badReplay = await call("/api/admin/events/replay", {
      token: admin.accessToken,
      json: { from: "yesterday", subscriber: "nobody" },
    });
    expect(badReplay.status).toBe(400);
    expect(badReplay.headers.get("content-type")).toBe("application/problem+json");
  });

  it("a poison message for an unknown user ends as a dead letter, and a redrive delivers it once the user exists", async () => {
    const admin = await registerAndLogin({ role: "admin" });
    const userId = newId("usr");
    const orderId = newId("ord");
    const envelope = (type: string, sequence: number, data: Record<string, unknown>) => ({
      id: newId("evt"),
      type,
      version: 1,
      occurredAt: new Date().toISOString(),
      source: type.startsWith("user.") ? "shop-users" : "shop-orders",
      subject: type.startsWith("user.") ? userId : orderId,
      sequence,
      traceparent: null,
      data,
    });
    await env.TEST_NOTIFICATIONS_QUEUE.send(
      envelope("order.confirmed", 2, { orderId, userId, totalCents: 900, currency: "EUR" }),
      { contentType: "json" },
    );
    const letter = await vi.waitFor(
      async () => {
        const res = await admin.shop.api.GET("/api/admin/dead-letters", {
          params: { query: { queue: "shop-notifications", state: "waiting", limit: 100 } },
        });
        const items = (res.data?.items ?? []) as unknown as { id: string; body: Envelope }[];
        const found = items.find((d) => d.body.subject === orderId);
        expect(found).toBeDefined();
        return found as { id: string; body: Envelope };
      },
      { timeout: 30_000, interval: 250 },
    );
    const none = await env.NOTIFICATIONS_DB.prepare("SELECT count(*) AS n FROM notifications WHERE order_id = ?")
      .bind(orderId)
      .first<{ n: number }>();
    expect(none?.n).toBe(0);
    // The user becomes known; the operator redrives the dead letter.
    await env.TEST_NOTIFICATIONS_QUEUE.send(
      envelope("user.created", 1, { userId, email: "late@example.com", name: "Late", phone: null, role: "customer" }),
      { contentType: "json" },
    );
    await vi.waitFor(async () => {
      const row = await env.NOTIFICATIONS_DB.prepare("SELECT count(*) AS n FROM contacts WHERE user_id = ?")
        .bind(userId)
        .first<{ n: number }>();
      expect(row?.n).toBe(1);
    }, WAIT);
    const redrive = (ids: string[]) => admin.shop.api.POST("/api/admin/dead-letters/redrive", { body: { ids } });
    expect((await redrive([letter.id])).data).toEqual({ redriven: 1 });
    await vi.waitFor(async () => {
      const row = await env.NOTIFICATIONS_DB.prepare(
        "SELECT count(*) AS n FROM notifications WHERE order_id = ? AND template = 'order.confirmed'",
      )
        .bind(orderId)
        .first<{ n: number }>();
      expect(row?.n).toBe(1);
    }, WAIT);
    expect((await redrive([letter.id])).data).toEqual({ redriven: 0 });
  });
});
