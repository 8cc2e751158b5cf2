import { createExecutionContext, createMessageBatch, getQueueResult, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { CLI_ACTOR } from "#shared/cli";
import type { Actor } from "#shared/contracts/common";
import type { Envelope } from "#shared/contracts/events";
import type { AuditEntry } from "#shared/contracts/ops";
import type { Role } from "#shared/identity";
import { newId } from "#shared/ids";
import OpsService from "../../workers/ops/src/index";
import { auditTrail } from "../../workers/ops/src/trail";
import { asMessages, type Delivery } from "../support/queue-batch";

/**
 * shop-ops consuming `shop-audit` (workers/ops/src/audit-events.ts): the user events shop-events
 * forwards there. An admin made by `npm run admin:create` (actor system:cli) is recorded as
 * `admin.create` in the real trail (the AuditLog object), once however often its event arrives;
 * every other user event records nothing. The whole path from the script's SQL to the gateway's
 * GET /api/admin/audit is test/system/ops.integration.test.ts.
 */

const hex = (bytes: number) =>
  [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");

function userEvent(
  type: "user.created" | "user.updated",
  options: { role?: Role; actor?: Actor } = {},
): Envelope<"user.created" | "user.updated"> {
  const userId = newId("usr");
  return {
    id: newId("evt"),
    type,
    version: 1,
    occurredAt: new Date().toISOString(),
    source: "shop-users",
    subject: userId,
    sequence: type === "user.created" ? 1 : 2,
    traceparent: `00-${hex(16)}-${hex(8)}-01`,
    ...(options.actor ? { actor: options.actor } : {}),
    data: { userId, email: `${userId}@example.com`, name: "Ada", phone: null, role: options.role ?? "customer" },
  };
}

const byScript = (type: "user.created" | "user.updated") => userEvent(type, { actor: CLI_ACTOR, role: "admin" });

async function deliver(messages: Delivery[]) {
  const batch = createMessageBatch(
    "shop-audit",
    messages.map((m) => ({ id: m.id, timestamp: new Date(), attempts: m.attempts ?? 1, body: m.body })),
  );
  const ctx = createExecutionContext();
  await new OpsService(ctx, env).queue(batch);
  const result = await getQueueResult(batch, ctx);
  return { acked: [...result.explicitAcks].sort(), retried: result.retryMessages.map((r) => r.msgId) };
}

/** The trail's entries for a user, read from shop-ops' admin app as the gateway forwards to it. */
async function trailOf(userId: string): Promise<AuditEntry[]> {
  const res = await exports.default.fetch(`https://ops/api/admin/audit?target=user:${userId}`, {
    headers: { "x-shop-user-id": "usr_01jd0000000000000000000000", "x-shop-user-role": "admin" },
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { items: AuditEntry[] }).items;
}

describe("the shop-audit consumer", () => {
  it("records a new admin (user.created by system:cli) once as admin.create, with the event's trace, however often it arrives", async () => {
    const event = byScript("user.created");
    const messages = asMessages(event);
    expect(await deliver(messages)).toEqual({ acked: [messages[0]?.id], retried: [] });
    // Delivered again, and twice at once: still one entry.
    await Promise.all([1, 2].map(() => deliver(messages.map((m) => ({ ...m, attempts: 2 })))));

    const entries = await trailOf(event.data.userId);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      actor: { type: "system", id: "cli" },
      action: "admin.create",
      target: `user:${event.data.userId}`,
      after: { email: event.data.email, role: "admin" },
      requestId: event.id,
      traceId: event.traceparent?.split("-")[1],
    });
    expect(entries[0] && "before" in entries[0]).toBe(false);
  });

  it("records a customer promoted (user.updated by system:cli) with before {role: customer}", async () => {
    const event = byScript("user.updated");
    await deliver(asMessages(event));
    expect(await trailOf(event.data.userId)).toEqual([
      expect.objectContaining({ action: "admin.create", before: { role: "customer" }, requestId: event.id }),
    ]);
  });

  it("records nothing for other user events: a customer registering, a script's customer, an admin by an admin, none without an actor", async () => {
    const events = [
      userEvent("user.created", { actor: { type: "user", id: "anonymous" } }),
      userEvent("user.created", { actor: CLI_ACTOR }),
      userEvent("user.updated", { actor: { type: "admin", id: "usr_01jd0000000000000000000000" }, role: "admin" }),
      userEvent("user.created", { role: "admin" }),
    ];
    const messages = asMessages(...events);
    expect((await deliver(messages)).acked).toHaveLength(events.length);
    for (const event of events) expect(await trailOf(event.data.userId)).toEqual([]);
  });

  it("retries the message while the trail cannot be written, then records it once", async () => {
    const event = byScript("user.created");
    const messages = asMessages(event);
    await runInDurableObject(auditTrail(env), (_instance, state) => {
      state.storage.sql.exec(
        `CREATE TRIGGER refuse BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'disk full'); END`,
      );
    });
    try {
      expect(await deliver(messages)).toEqual({ acked: [], retried: [messages[0]?.id] });
    } finally {
      await runInDurableObject(auditTrail(env), (_instance, state) => {
        state.storage.sql.exec("DROP TRIGGER refuse");
      });
    }
    expect(await trailOf(event.data.userId)).toEqual([]);
    expect(await deliver(messages.map((m) => ({ ...m, attempts: 2 })))).toEqual({
      acked: [messages[0]?.id],
      retried: [],
    });
    expect(await trailOf(event.data.userId)).toHaveLength(1);
  });

  it("retries a message that is not an event (the queue then hands it to shop-audit-dlq), acking the others", async () => {
    const event = byScript("user.created");
    const messages = asMessages("garbage", event);
    expect(await deliver(messages)).toEqual({ acked: [messages[1]?.id], retried: [messages[0]?.id] });
    expect(await trailOf(event.data.userId)).toHaveLength(1);
  });
});
