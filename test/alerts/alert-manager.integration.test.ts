import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import type { Alert } from "#shared/contracts/alerts";

interface Received {
  key: string;
  status: number;
  body: { text: string; alert: { id: string; notification: string } };
}

const manager = () => env.ALERT_MANAGER.getByName("alerts");
const webhook = (path: string, method = "GET") => env.WEBHOOK.fetch(`https://receiver.test${path}`, { method });
const received = async () => (await (await webhook("/received")).json()) as Received[];

/** What the local sender recorded for the operators' address, oldest first. */
async function emails(): Promise<{ subject: string; body: string; notification_id: string }[]> {
  const rows = await env.NOTIFICATIONS_DB.prepare(
    "SELECT subject, body, notification_id FROM deliveries WHERE to_address = ? ORDER BY id",
  )
    .bind(env.ALERT_EMAIL_TO)
    .all<{ subject: string; body: string; notification_id: string }>();
  return rows.results;
}

/** Runs the object's alarm (an evaluation when one is due, then the deliveries due). */
async function evaluate(): Promise<void> {
  // Make the next evaluation due now: the interval is a minute, the test does not wait for it.
  await runInDurableObject(manager(), (_instance, state) => {
    state.storage.sql.exec("UPDATE schedule SET next_evaluation = 0");
  });
  expect(await runDurableObjectAlarm(manager())).toBe(true);
}

async function openBreaker(name: string): Promise<void> {
  const breaker = env.TEST_BREAKER.getByName(name);
  for (let i = 0; i < 5; i++) await breaker.record("failure");
  expect((await breaker.snapshot()).state).toBe("open");
}

/** Lets the probe through once the open time is over and reports it healthy: closed again. */
async function closeBreaker(name: string): Promise<void> {
  const breaker = env.TEST_BREAKER.getByName(name);
  for (let attempt = 0; attempt < 100; attempt++) {
    const admission = await breaker.acquire();
    if (admission.allowed) {
      await breaker.record("success", admission.probe);
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  expect((await breaker.snapshot()).state).toBe("closed");
}

async function listed(): Promise<Alert[]> {
  const response = await exports.default.fetch(
    new Request("https://alerts.internal/api/admin/alerts", {
      headers: { "x-shop-user-id": "usr_admin", "x-shop-user-role": "admin" },
    }),
  );
  expect(response.status).toBe(200);
  return ((await response.json()) as { items: Alert[] }).items;
}

describe("AlertManager", () => {
  beforeEach(async () => {
    await manager().ensureScheduled();
    await webhook("/reset", "POST");
  });

  it("an open breaker fires once to email and webhook, stays quiet within the repeat interval, and resolves once", async () => {
    const emailsBefore = (await emails()).length;
    await openBreaker("psp:a");

    await evaluate();
    await evaluate();

    const firing = (await listed()).find((a) => a.id === "breaker_open:psp:a");
    expect(firing).toMatchObject({ rule: "breaker_open", state: "firing", lastNotifiedAt: expect.any(String) });
    expect(firing?.summary).toContain("psp:a is open");
    const hooks = (await received()).filter((r) => r.body.alert.id === "breaker_open:psp:a");
    expect(hooks.map((r) => [r.status, r.body.alert.notification])).toEqual([[200, "firing"]]);
    expect(hooks[0]?.body.text).toContain("FIRING: breaker_open:psp:a");
    const mails = (await emails()).slice(emailsBefore);
    expect(mails.map((m) => m.subject)).toEqual(["[edge-shop] FIRING: breaker_open:psp:a"]);

    await closeBreaker("psp:a");
    await evaluate();
    await evaluate();

    const resolved = (await listed()).find((a) => a.id === "breaker_open:psp:a");
    expect(resolved).toMatchObject({ state: "resolved", resolvedAt: expect.any(String), since: firing?.since });
    const after = (await received()).filter((r) => r.body.alert.id === "breaker_open:psp:a");
    expect(after.map((r) => r.body.alert.notification)).toEqual(["firing", "resolved"]);
    expect((await emails()).slice(emailsBefore).map((m) => m.subject)).toEqual([
      "[edge-shop] FIRING: breaker_open:psp:a",
      "[edge-shop] RESOLVED: breaker_open:psp:a",
    ]);
  });

  it("a webhook that fails is retried by the alarm until it accepts, with the same key, and the alert is delivered once", async () => {
    await webhook("/fail?n=2", "POST");
    await openBreaker("psp:b");

    await evaluate();
    // The failed delivery stays owed: the alarm is armed for its retry and delivers it.
    for (let attempt = 0; attempt < 20; attempt++) {
      if ((await received()).some((r) => r.status === 200)) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
      await runDurableObjectAlarm(manager());
    }

    const calls = (await received()).filter((r) => r.body.alert.id === "breaker_open:psp:b");
    expect(calls.map((c) => c.status)).toEqual([503, 503, 200]);
    expect(new Set(calls.map((c) => c.key)).size).toBe(1);
    await closeBreaker("psp:b");
    await evaluate();
  });

  it("an outbox holding an unconfirmed event older than 5 minutes fires outbox_stale for its service, and resolves once it is gone", async () => {
    const id = `evt_stale${crypto.randomUUID().replaceAll("-", "").slice(0, 17)}`;
    await env.ORDERS_DB.prepare(
      "INSERT INTO outbox (id, type, subject, sequence, envelope, created_at) VALUES (?, 'order.created', ?, 1, '{}', ?)",
    )
      .bind(id, `ord_${id}`, Date.now() - 6 * 60_000)
      .run();
    await evaluate();
    const firing = (await listed()).find((a) => a.id === "outbox_stale:shop-orders");
    expect(firing).toMatchObject({ rule: "outbox_stale", state: "firing" });
    expect(firing?.summary).toContain("1 unconfirmed event(s)");
    // The other producers' outboxes are empty: nothing fires for them.
    expect((await listed()).filter((a) => a.rule === "outbox_stale").map((a) => a.id)).toEqual([
      "outbox_stale:shop-orders",
    ]);

    await env.ORDERS_DB.prepare("DELETE FROM outbox WHERE id = ?").bind(id).run();
    await evaluate();
    expect((await listed()).find((a) => a.id === "outbox_stale:shop-orders")?.state).toBe("resolved");
  });

  it("lists firing alerts before resolved ones, and refuses a customer", async () => {
    await openBreaker("catalog");
    await evaluate();
    const items = await listed();
    const states = items.map((a) => a.state);
    expect(states.indexOf("firing")).toBe(0);
    expect(states.lastIndexOf("firing")).toBeLessThan(
      states.indexOf("resolved") === -1 ? Infinity : states.indexOf("resolved"),
    );
    expect(items.find((a) => a.id === "breaker_open:catalog")?.state).toBe("firing");

    const customer = await exports.default.fetch(
      new Request("https://alerts.internal/api/admin/alerts", {
        headers: { "x-shop-user-id": "usr_c", "x-shop-user-role": "customer" },
      }),
    );
    expect(customer.status).toBe(403);
    await closeBreaker("catalog");
    await evaluate();
  });
});
