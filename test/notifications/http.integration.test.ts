import { describe, expect, it } from "vitest";
import type { Notification, NotificationPage } from "#shared/contracts/notifications";
import { NotificationPageSchema } from "#shared/contracts/notifications";
import { encodeCursor } from "#shared/cursor";
import { newId } from "#shared/ids";
import {
  asMessages,
  call,
  deliver,
  newTraceparent,
  newUser,
  orderConfirmed,
  type TestUser,
  userCreated,
} from "./helpers";

/** `GET /api/notifications` as the gateway forwards it: each user sees their own messages only. */

/** A user the directory knows, with a welcome email and SMS and one order email: three messages. */
async function userWithMessages(): Promise<TestUser> {
  const user = newUser({ phone: "+14155550123" });
  await deliver(asMessages(userCreated(user)));
  await deliver(asMessages(orderConfirmed(user)));
  return user;
}

async function page(path: string, user: TestUser): Promise<NotificationPage> {
  const res = await call(path, { userId: user.userId });
  expect(res.status, await res.clone().text()).toBe(200);
  return NotificationPageSchema.parse(await res.json());
}

const newestFirst = (items: Notification[]) =>
  items.every((n, i) => {
    const prev = items[i - 1];
    return !prev || prev.createdAt > n.createdAt || (prev.createdAt === n.createdAt && prev.id > n.id);
  });

describe("GET /api/notifications", () => {
  it("lists the caller's own messages, newest first, in the contract's shape", async () => {
    const user = await userWithMessages();
    const other = await userWithMessages();
    const { items, nextCursor } = await page("/api/notifications", user);
    expect(nextCursor).toBeNull();
    expect(items).toHaveLength(3);
    expect(items.every((n) => n.to === user.email || n.to === user.phone)).toBe(true);
    expect(items.map((n) => `${n.template}/${n.channel}`).sort()).toEqual([
      "order.confirmed/email",
      "user.created/email",
      "user.created/sms",
    ]);
    expect(newestFirst(items)).toBe(true);
    const sms = items.find((n) => n.channel === "sms");
    expect(sms && "subject" in sms).toBe(false);
    expect(items.find((n) => n.template === "order.confirmed")?.orderId).toMatch(/^ord_/);
    expect(items.every((n) => n.sentAt !== null)).toBe(true);

    const theirs = await page("/api/notifications", other);
    expect(theirs.items.map((n) => n.id).some((id) => items.some((n) => n.id === id))).toBe(false);
  });

  it("an admin sees only their own messages too", async () => {
    const someone = await userWithMessages();
    const admin = newUser({ phone: null });
    await deliver(asMessages(userCreated(admin)));
    const res = await call("/api/notifications", { userId: admin.userId, role: "admin" });
    const body = NotificationPageSchema.parse(await res.json());
    expect(body.items.map((n) => n.to)).toEqual([admin.email]);
    expect(body.items.some((n) => n.to === someone.email)).toBe(false);
  });

  it("pages with limit and cursor without skipping or repeating", async () => {
    const user = await userWithMessages();
    const first = await page("/api/notifications?limit=2", user);
    expect(first.items).toHaveLength(2);
    expect(first.nextCursor).not.toBeNull();
    const second = await page(`/api/notifications?limit=2&cursor=${first.nextCursor}`, user);
    expect(second.items).toHaveLength(1);
    expect(second.nextCursor).toBeNull();
    const all = [...first.items, ...second.items];
    expect(new Set(all.map((n) => n.id)).size).toBe(3);
    expect(newestFirst(all)).toBe(true);
  });

  it("clamps limit to 1..100 and defaults a non-number to 20", async () => {
    const user = await userWithMessages();
    expect((await page("/api/notifications?limit=0", user)).items).toHaveLength(1);
    expect((await page("/api/notifications?limit=-5", user)).items).toHaveLength(1);
    expect((await page("/api/notifications?limit=1000", user)).items).toHaveLength(3);
    expect((await page("/api/notifications?limit=lots", user)).items).toHaveLength(3);
  });

  it("a cursor this list did not issue is a 400 problem naming `cursor`", async () => {
    const user = await userWithMessages();
    for (const cursor of ["not-a-cursor", encodeCursor("2026-01-01T00:00:00.000Z", newId("ord"))]) {
      const res = await call(`/api/notifications?cursor=${cursor}`, { userId: user.userId });
      expect(res.status).toBe(400);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      const problem = (await res.json()) as { status: number; errors?: { path: string }[] };
      expect(problem.status).toBe(400);
      expect(problem.errors?.map((e) => e.path)).toContain("cursor");
    }
  });

  it("without the gateway's identity: 401 problem+json", async () => {
    const res = await call("/api/notifications", undefined, { traceparent: newTraceparent() });
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const problem = (await res.json()) as { status: number; instance: string };
    expect(problem.status).toBe(401);
    expect(problem.instance).toMatch(/^urn:uuid:/);
    // A role the gateway never sets is no identity either.
    const forged = await call("/api/notifications", undefined, {
      "x-shop-user-id": newId("usr"),
      "x-shop-user-role": "root",
    });
    expect(forged.status).toBe(401);
  });

  it("unknown routes are 404 problem+json", async () => {
    const res = await call("/api/notifications/everything", { userId: newId("usr") });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
  });
});
