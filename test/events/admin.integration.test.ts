import { createExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { DeadLetterPageSchema, EventPageSchema } from "#shared/contracts/events";
import { newId } from "#shared/ids";
import EventsService from "../../workers/events/src/index";
import { EVENT_WAIT } from "../support/event-log";
import {
  ADMIN,
  asMessages,
  CUSTOMER,
  call,
  deadLettersOf,
  deliver,
  orderConfirmed,
  productCreated,
  settledReceived,
  settledReceivedAll,
  store,
  storedCount,
  type TestEnvelope,
  userCreated,
} from "./helpers";

/** shop-events' RPC surface and its admin HTTP app (as the gateway forwards to it). */

/**
 * The entrypoint called in this isolate: refused input is checked here, because a rejection
 * crossing the loopback RPC is also reported by workerd as an uncaught error of the test run.
 */
const service = () => new EventsService(createExecutionContext(), env);

async function expectProblem(res: Response, status: number): Promise<Record<string, unknown>> {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  return (await res.json()) as Record<string, unknown>;
}

async function log(query: string) {
  const res = await call(`/api/admin/events?${query}`, { as: ADMIN });
  expect(res.status, await res.clone().text()).toBe(200);
  return EventPageSchema.parse(await res.json());
}

/** A time an hour in the past plus `seconds`: a window no other test writes into. */
const windowAt = (base: number) => (seconds: number) => new Date(base + seconds * 1000).toISOString();

describe("RPC: stored and recordDeadLetter", () => {
  it("stored(ids) answers exactly the ids the log holds", async () => {
    const kept = userCreated();
    await store(kept);
    const missing = newId("evt");
    expect(await exports.default.stored([kept.id, missing])).toEqual([kept.id]);
    expect(await exports.default.stored([])).toEqual([]);
  });

  it("stored rejects ids that are not event ids, and more than 500 at once", async () => {
    await expect(service().stored(["1 OR 1=1"])).rejects.toThrow(/argument of stored\(\) is not valid/);
    const many = Array.from({ length: 501 }, () => newId("evt"));
    await expect(service().stored(many)).rejects.toThrow(/argument of stored\(\) is not valid/);
    expect(await service().stored(many.slice(0, 500))).toEqual([]);
  });

  it("recordDeadLetter keeps a message once per (queue, message id) and refuses bad input", async () => {
    const messageId = crypto.randomUUID();
    const input = { queue: "shop-notifications", messageId, body: { any: "thing" }, reason: "unreadable", attempts: 1 };
    expect(await exports.default.recordDeadLetter(input)).toEqual({ ok: true, value: { recorded: true } });
    expect(await exports.default.recordDeadLetter(input)).toEqual({ ok: true, value: { recorded: true } });
    expect(await deadLettersOf(messageId)).toEqual([
      expect.objectContaining({ queue: "shop-notifications", reason: "unreadable", attempts: 1, redriven_at: null }),
    ]);
    const before = await deadLettersOf("");
    expect(await service().recordDeadLetter({ ...input, messageId: "", reason: "" })).toMatchObject({
      ok: false,
      code: "validation_failed",
      detail: expect.stringMatching(/dead letter is not valid/),
    });
    expect(await deadLettersOf("")).toEqual(before);
  });
});

describe("GET /api/admin/events", () => {
  it("is for admins: 401 without an identity, 403 for a customer", async () => {
    await expectProblem(await call("/api/admin/events"), 401);
    await expectProblem(await call("/api/admin/events", { as: CUSTOMER }), 403);
  });

  it("filters by type, subject and time range, newest first", async () => {
    const at = windowAt(Date.now() - 3_600_000);
    const first = userCreated({ occurredAt: at(1) });
    const second = orderConfirmed({ occurredAt: at(2) });
    const third = productCreated({ occurredAt: at(3) });
    const fourth = userCreated({ occurredAt: at(4), userId: first.subject });
    await store(first, second, third, fourth);
    const range = `from=${encodeURIComponent(at(1))}&to=${encodeURIComponent(at(4))}&limit=100`;

    const all = await log(range);
    expect(all.items.map((e) => e.id)).toEqual([fourth.id, third.id, second.id, first.id]);
    expect(all.items[0]).toEqual(fourth);
    expect((await log(`${range}&type=user.created`)).items.map((e) => e.id)).toEqual([fourth.id, first.id]);
    expect((await log(`${range}&subject=${first.subject}`)).items.map((e) => e.id)).toEqual([fourth.id, first.id]);
    const narrow = `from=${encodeURIComponent(at(2))}&to=${encodeURIComponent(at(3))}&limit=100`;
    expect((await log(narrow)).items.map((e) => e.id)).toEqual([third.id, second.id]);
  });

  it("times of different precision compare as instants (stored in one canonical form)", async () => {
    const second = new Date(Date.now() - 20_000_000).toISOString().slice(0, 19);
    const whole = productCreated({ occurredAt: `${second}Z` });
    const later = productCreated({ occurredAt: `${second}.250Z` });
    await store(whole, later);
    const page = await log(`from=${second}.000Z&to=${second}.500Z&limit=100`);
    expect(page.items.map((e) => e.id)).toEqual([later.id, whole.id]);
  });

  it("pages with limit and cursor, without gaps or repeats", async () => {
    const at = windowAt(Date.now() - 7_200_000);
    // Two events at the same time too: the id orders them.
    const events = [0, 1, 2, 3, 3, 4, 5].map((s) => productCreated({ occurredAt: at(s) }));
    await store(...events);
    const range = `from=${encodeURIComponent(at(0))}&to=${encodeURIComponent(at(5))}`;
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await log(`${range}&limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.items.map((e) => e.id));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    const expected = [...events]
      .sort((a, b) =>
        a.occurredAt === b.occurredAt ? a.id.localeCompare(b.id) : a.occurredAt.localeCompare(b.occurredAt),
      )
      .reverse()
      .map((e) => e.id);
    expect(seen).toEqual(expected);
  });

  it("limit is clamped to 1..100 (default 20), never refused; 100 per page walks 101 events in two pages", async () => {
    const at = windowAt(Date.now() - 21_600_000);
    const events = Array.from({ length: 101 }, (_, i) => productCreated({ occurredAt: at(i) }));
    await store(...events);
    const range = `from=${encodeURIComponent(at(0))}&to=${encodeURIComponent(at(100))}`;
    const newest = [...events].reverse().map((e) => e.id);

    for (const [limit, size] of [
      ["0", 1],
      ["-5", 1],
      ["abc", 20],
      ["1000", 100],
    ] as const) {
      const page = await log(`${range}&limit=${limit}`);
      expect(
        page.items.map((e) => e.id),
        `limit=${limit}`,
      ).toEqual(newest.slice(0, size));
      expect(page.nextCursor, `limit=${limit}`).not.toBeNull();
    }
    expect((await log(range)).items).toHaveLength(20);

    const first = await log(`${range}&limit=100`);
    const second = await log(`${range}&limit=100&cursor=${encodeURIComponent(first.nextCursor ?? "")}`);
    expect(second.nextCursor).toBeNull();
    expect([...first.items, ...second.items].map((e) => e.id)).toEqual(newest);
  });

  it("bad queries are 400 problems naming the field", async () => {
    // Decodes, but is not a (time, id) pair.
    const notAPair = btoa(JSON.stringify(["only-one"]));
    for (const query of [
      "type=user.deleted",
      "from=yesterday",
      "to=2026-13-45",
      "cursor=not-a-cursor",
      `cursor=${notAPair}`,
      `subject=${"s".repeat(65)}`,
    ]) {
      const problem = await expectProblem(await call(`/api/admin/events?${query}`, { as: ADMIN }), 400);
      const field = query.split("=")[0];
      expect(JSON.stringify(problem.errors ?? problem.detail), query).toContain(field);
    }
  });
});

describe("POST /api/admin/events/replay", { timeout: 30_000 }, () => {
  async function replay(body: unknown, as = ADMIN as { userId: string; role: "admin" | "customer" }) {
    return call("/api/admin/events/replay", { as, json: body });
  }

  it("sends the subscriber's stored events of the range again and says how many", async () => {
    const at = windowAt(Date.now() - 10_800_000);
    const wanted: TestEnvelope[] = [userCreated({ occurredAt: at(1) }), orderConfirmed({ occurredAt: at(2) })];
    const unwanted = productCreated({ occurredAt: at(3) });
    const outside = userCreated({ occurredAt: at(10) });
    await store(...wanted, unwanted, outside);
    for (const event of [...wanted, outside]) await settledReceived(event.id, 1);

    const res = await replay({ from: at(0), to: at(5), subscriber: "notifications" });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ replayed: 2 });
    for (const event of wanted) expect(await settledReceived(event.id, 2)).toBe(2);
    expect(await settledReceived(unwanted.id, 0)).toBe(0);
    expect(await settledReceived(outside.id, 1)).toBe(1);
    // The log itself is unchanged: a replay stores nothing.
    for (const event of [...wanted, unwanted, outside]) expect(await storedCount(event.id)).toBe(1);
  });

  it("types narrow it; types the subscriber does not want count nothing", async () => {
    const at = windowAt(Date.now() - 14_400_000);
    const user = userCreated({ occurredAt: at(1) });
    const order = orderConfirmed({ occurredAt: at(2) });
    const product = productCreated({ occurredAt: at(3) });
    await store(user, order, product);
    const range = { from: at(0), to: at(5), subscriber: "notifications" };
    expect(await (await replay({ ...range, types: ["order.confirmed"] })).json()).toEqual({ replayed: 1 });
    expect(await (await replay({ ...range, types: ["product.created"] })).json()).toEqual({ replayed: 0 });
    expect(await settledReceived(order.id, 2)).toBe(2);
    expect(await settledReceived(user.id, 1)).toBe(1);
  });

  it("bad input is a 400 problem and sends nothing; customers get 403", async () => {
    const at = windowAt(Date.now() - 18_000_000);
    const event = userCreated({ occurredAt: at(1) });
    await store(event);
    expect(await settledReceived(event.id, 1)).toBe(1);
    const good = { from: at(0), to: at(5), subscriber: "notifications" };
    for (const body of [
      { ...good, subscriber: "nobody" },
      { ...good, to: at(-10) },
      { ...good, from: "yesterday" },
      { ...good, types: ["user.deleted"] },
      { ...good, types: [] },
      { ...good, extra: true },
      {},
    ]) {
      await expectProblem(await replay(body), 400);
    }
    const notJson = await exports.default.fetch(
      new Request("https://events/api/admin/events/replay", {
        method: "POST",
        headers: { "x-shop-user-id": ADMIN.userId, "x-shop-user-role": "admin", "content-type": "application/json" },
        body: "{",
      }),
    );
    await expectProblem(notJson, 400);
    await expectProblem(await replay(good, CUSTOMER), 403);
    await expectProblem(await call("/api/admin/events/replay", { json: good }), 401);
    expect(await settledReceived(event.id, 1)).toBe(1);
  });

  it("replays more than a page (100) of events, each exactly once more", async () => {
    const at = windowAt(Date.now() - 25_200_000);
    // Two per second (times 0, 1, 1, 2, 2, ... 50, 50): the page boundary after the 100th falls
    // between two events of the same time, which the id orders.
    const events = Array.from({ length: 101 }, (_, i) => orderConfirmed({ occurredAt: at(Math.floor((i + 1) / 2)) }));
    await store(...events);
    const ids = events.map((e) => e.id);
    expect(new Set((await settledReceivedAll(ids, 1)).values())).toEqual(new Set([1]));

    const res = await replay({ from: at(0), to: at(60), subscriber: "notifications" });
    expect(await res.json()).toEqual({ replayed: 101 });
    expect(new Set((await settledReceivedAll(ids, 2)).values())).toEqual(new Set([2]));
  });

  it("without `to`, the range ends now", async () => {
    const inAnHour = Date.now() + 3_600_000;
    const future = userCreated({ occurredAt: new Date(inAnHour).toISOString() });
    await store(future);
    expect(await settledReceived(future.id, 1)).toBe(1);
    const from = new Date(inAnHour - 60_000).toISOString();
    expect(await (await replay({ from, subscriber: "notifications" })).json()).toEqual({ replayed: 0 });
    const to = new Date(inAnHour + 60_000).toISOString();
    expect(await (await replay({ from, to, subscriber: "notifications" })).json()).toEqual({ replayed: 1 });
    expect(await settledReceived(future.id, 2)).toBe(2);
  });
});

describe("dead letters: list and redrive", { timeout: 30_000 }, () => {
  it("lists dead letters newest first, by queue and state, and redrives each once to the queue it failed on", async () => {
    const event = userCreated();
    const messages = asMessages(event);
    await deliver("shop-notifications-dlq", messages);
    const [stored] = await deadLettersOf(messages[0]?.id ?? "");
    expect(stored).toBeDefined();

    const list = async (query: string) => {
      const res = await call(`/api/admin/dead-letters?${query}`, { as: ADMIN });
      expect(res.status).toBe(200);
      return DeadLetterPageSchema.parse(await res.json()).items;
    };
    const waiting = await list("queue=shop-notifications&state=waiting&limit=100");
    expect(waiting.find((d) => d.id === stored?.id)).toMatchObject({
      queue: "shop-notifications",
      messageId: messages[0]?.id,
      body: event,
      redrivenAt: null,
    });
    expect((await list("queue=shop-events&limit=100")).some((d) => d.id === stored?.id)).toBe(false);

    const redrive = () => call("/api/admin/dead-letters/redrive", { as: ADMIN, json: { ids: [stored?.id] } });
    const [first, second] = await Promise.all([redrive(), redrive()]);
    const counts = [await first.json(), await second.json()].map((r) => (r as { redriven: number }).redriven);
    expect(counts.sort()).toEqual([0, 1]);
    expect(await settledReceived(event.id, 1)).toBe(1);
    expect((await list("state=redriven&limit=100")).find((d) => d.id === stored?.id)?.redrivenAt).toEqual(
      expect.any(String),
    );
    expect(await (await redrive()).json()).toEqual({ redriven: 0 });
  });

  it("pages a queue's dead letters newest first, by (failedAt, id), without gaps or repeats", async () => {
    // A queue name of this test's own, so the filter selects exactly its letters.
    const queue = `test-${crypto.randomUUID().slice(0, 8)}`;
    const messageIds = Array.from({ length: 5 }, () => crypto.randomUUID());
    for (const messageId of messageIds) {
      await exports.default.recordDeadLetter({
        queue,
        messageId,
        body: { n: messageId },
        reason: "unreadable",
        attempts: 3,
      });
    }
    const { results } = await env.DB.prepare(
      "SELECT id FROM dead_letters WHERE queue = ? ORDER BY failed_at DESC, id DESC",
    )
      .bind(queue)
      .all<{ id: string }>();
    expect(results).toHaveLength(5);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await call(
        `/api/admin/dead-letters?queue=${queue}&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
        { as: ADMIN },
      );
      const page = DeadLetterPageSchema.parse(await res.json());
      expect(page.items.every((d) => d.queue === queue && d.reason === "unreadable" && d.attempts === 3)).toBe(true);
      seen.push(...page.items.map((d) => d.id));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(results.map((r) => r.id));
  });

  it("a dead letter of a queue it cannot send to is not redriven and stays waiting", async () => {
    const messageId = crypto.randomUUID();
    await exports.default.recordDeadLetter({
      queue: "shop-nowhere",
      messageId,
      body: {},
      reason: "unreadable",
      attempts: 1,
    });
    const [letter] = await deadLettersOf(messageId);
    const res = await call("/api/admin/dead-letters/redrive", { as: ADMIN, json: { ids: [letter?.id] } });
    expect(await res.json()).toEqual({ redriven: 0 });
    expect((await deadLettersOf(messageId))[0]?.redriven_at).toBeNull();
  });

  it("a dead letter of the bus goes back to shop-events, which stores the event", async () => {
    const event = orderConfirmed();
    const messages = asMessages(event);
    await deliver("shop-events-dlq", messages);
    const [letter] = await deadLettersOf(messages[0]?.id ?? "");
    const res = await call("/api/admin/dead-letters/redrive", { as: ADMIN, json: { ids: [letter?.id] } });
    expect(await res.json()).toEqual({ redriven: 1 });
    // The real shop-events queue delivers it to this Worker's consumer.
    await vi.waitFor(async () => expect(await storedCount(event.id)).toBe(1), EVENT_WAIT);
    expect(await settledReceived(event.id, 1)).toBe(1);
  });

  it("is for admins, and bad input is a 400 problem", async () => {
    await expectProblem(await call("/api/admin/dead-letters"), 401);
    await expectProblem(await call("/api/admin/dead-letters", { as: CUSTOMER }), 403);
    await expectProblem(await call("/api/admin/dead-letters?state=lost", { as: ADMIN }), 400);
    await expectProblem(await call("/api/admin/dead-letters/redrive", { as: CUSTOMER, json: {} }), 403);
    for (const body of [{ ids: [] }, { ids: "all" }, { ids: ["x"], more: 1 }]) {
      await expectProblem(await call("/api/admin/dead-letters/redrive", { as: ADMIN, json: body }), 400);
    }
  });
});

describe("health", () => {
  it("reports ok when its database answers", async () => {
    expect(await exports.default.health()).toEqual({ status: "ok", service: "shop-events" });
  });
});
