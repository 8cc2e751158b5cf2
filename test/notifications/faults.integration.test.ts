import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { asMessages, deliver, inboxHas, newUser, notificationsOfUser, userCreated } from "./helpers";

/**
 * The consumer's injected fault (development only; `PUT /api/admin/faults` target
 * "notifications"): with `errorRate` 1 every delivery fails before anything is recorded, so the
 * message is retried (and, after its queue's retries, becomes a dead letter like any failing
 * message); cleared, the same message is handled.
 */

afterEach(async () => {
  await exports.default.setFaults({ notifications: {} });
});

describe("the notifications consumer's fault", () => {
  it("fails every delivery while set (retried, nothing recorded) and none once cleared", async () => {
    expect(await exports.default.setFaults({ notifications: { errorRate: 1 } })).toEqual({
      ok: true,
      value: { notifications: { errorRate: 1 } },
    });
    const user = newUser();
    const event = userCreated(user);
    const messages = asMessages(event);

    const failed = await deliver(messages);
    expect(failed.explicitAcks).toEqual([]);
    expect(failed.retryMessages.map((m) => m.msgId)).toEqual(messages.map((m) => m.id));
    expect(await inboxHas(event.id)).toBe(false);
    expect(await notificationsOfUser(user.userId)).toEqual([]);

    expect(await exports.default.setFaults({ notifications: {} })).toEqual({ ok: true, value: {} });
    const handled = await deliver(messages);
    expect(handled.explicitAcks).toHaveLength(1);
    expect((await notificationsOfUser(user.userId)).length).toBeGreaterThan(0);
  });

  it("refuses a spec it does not know, and changes nothing", async () => {
    expect(await exports.default.setFaults({ notifications: { declineRate: 1 } })).toMatchObject({
      ok: false,
      code: "validation_failed",
    });
    expect(await exports.default.setFaults({ orders: { errorRate: 1 } })).toMatchObject({ ok: false });
    const user = newUser();
    expect((await deliver(asMessages(userCreated(user)))).explicitAcks).toHaveLength(1);
  });
});
