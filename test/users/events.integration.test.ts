import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { UsersRepository } from "../../workers/users/src/repository";
import { EVENT_WAIT, eventLog } from "../support/event-log";
import { call, registerAdmin, registerUser, testOutbox, uniqueEmail } from "./helpers";

/**
 * shop-users' events through the transactional outbox: each change a user can see is written with
 * its event in one batch, sent to the real shop-events queue after the commit, stored once in the
 * real log (events-db), and deleted from the outbox only after shop-events confirms it.
 */

const { loggedEvents, outboxRows, waitForLogged } = eventLog({ db: env.DB, eventsDb: env.EVENTS_DB });

const relay = () => env.OUTBOX_RELAY.getByName("outbox");

describe("users events", () => {
  it("registering writes user.created with the request's trace; the log stores it once", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const response = await call("/api/auth/register", {
      body: { email: uniqueEmail(), password: "correct horse battery staple", name: "Ada", phone: "+14155550123" },
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });
    expect(response.status).toBe(201);
    const user = (await response.json()) as { id: string; email: string };
    const [event] = await waitForLogged(user.id, 1);
    expect(event).toMatchObject({
      type: "user.created",
      source: "shop-users",
      subject: user.id,
      sequence: 1,
      data: { userId: user.id, email: user.email, name: "Ada", phone: "+14155550123", role: "customer" },
    });
    expect(event?.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
  });

  it("every profile and role change is user.updated with the next sequence; refused changes write nothing", async () => {
    const { user, identity } = await registerUser();
    const { identity: admin } = await registerAdmin();
    expect(
      (await call(`/api/users/${user.id}`, { method: "PATCH", as: identity, body: { name: "Grace" } })).status,
    ).toBe(200);
    expect(
      (await call(`/api/users/${user.id}/role`, { method: "PUT", as: admin, body: { role: "admin" } })).status,
    ).toBe(200);
    // A taken email and a bad body change nothing, so they raise nothing.
    const other = await registerUser();
    expect(
      (await call(`/api/users/${user.id}`, { method: "PATCH", as: identity, body: { email: other.email } })).status,
    ).toBe(409);
    expect((await call(`/api/users/${user.id}`, { method: "PATCH", as: identity, body: { nope: 1 } })).status).toBe(
      400,
    );
    const events = await waitForLogged(user.id, 3);
    expect(events.map((e) => [e.type, e.sequence])).toEqual([
      ["user.created", 1],
      ["user.updated", 2],
      ["user.updated", 3],
    ]);
    expect(events[1]?.data).toMatchObject({ name: "Grace", role: "customer" });
    expect(events[2]?.data).toMatchObject({ name: "Grace", role: "admin" });
  });

  it("a second registration with a taken email raises no event", async () => {
    const { email } = await registerUser();
    const before = (await env.DB.prepare("SELECT count(*) AS n FROM outbox").first<{ n: number }>())?.n;
    const response = await call("/api/auth/register", {
      body: { email, password: "correct horse battery staple", name: "Copy" },
    });
    expect(response.status).toBe(409);
    expect((await env.DB.prepare("SELECT count(*) AS n FROM outbox").first<{ n: number }>())?.n).toBe(before);
  });

  it("the relay deletes rows shop-events confirmed, and only those", async () => {
    const { user } = await registerUser();
    await waitForLogged(user.id, 1);
    expect(await outboxRows(user.id)).toHaveLength(1);
    await relay().sweep();
    expect(await outboxRows(user.id)).toHaveLength(0);
  });

  it("a send lost after the commit is sent by the relay's alarm and reaches the log", async () => {
    // A committed change whose flush never ran (the isolate died right after the commit).
    const outbox = testOutbox();
    const repo = new UsersRepository(env.DB, outbox);
    const updated = await (async () => {
      const { user } = await registerUser();
      await waitForLogged(user.id, 1);
      return repo.update(user.id, { name: "Lost Send" });
    })();
    if (!updated || updated === "email_taken") throw new Error("update failed");
    const userId = updated.user.id;
    const [row] = await outboxRows(userId).then((rows) => rows.filter((r) => r.sequence === 2));
    expect(row?.sent_at).toBeNull();
    // Nothing sent it: the log does not have it.
    expect((await loggedEvents(userId)).map((e) => e.sequence)).toEqual([1]);
    // The relay's alarm (armed by any flush or health check) finds it, asks shop-events, sends it.
    await relay().ensureScheduled();
    expect(await runDurableObjectAlarm(relay())).toBe(true);
    await vi.waitFor(
      async () => expect((await loggedEvents(userId)).map((e) => e.sequence)).toEqual([1, 2]),
      EVENT_WAIT,
    );
    // The next pass sees it confirmed and deletes the row.
    await relay().sweep();
    expect(await outboxRows(userId)).toHaveLength(0);
  });

  it("a message sent twice is stored once", async () => {
    const { user } = await registerUser();
    await waitForLogged(user.id, 1);
    const [event] = await loggedEvents(user.id);
    await env.EVENTS_QUEUE.send(event, { contentType: "json" });
    await env.EVENTS_QUEUE.send(event, { contentType: "json" });
    // Wait for a later event to be sure the duplicates were consumed before it.
    const { user: later } = await registerUser();
    await waitForLogged(later.id, 1);
    expect(await loggedEvents(user.id)).toHaveLength(1);
  });
});
