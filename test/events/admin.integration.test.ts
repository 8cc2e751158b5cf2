import { createExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import EventsService from "../../workers/events/src/index";
import { DeadLetterPageSchema, EventPageSchema } from "../../workers/shared/src/contracts/events";
import { newId } from "../../workers/shared/src/ids";
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

  it("stored rejects ids that are not event ids", async () => {
    await expect(service().stored(["1 OR 1=1"])).rejects.toThrow(/argument of stored\(\) is not valid/);
  });

  it("recordDeadLetter keeps a message once per (queue, message id) and refuses bad input", async () => {
    const messageId = crypto.randomUUID();
    const input = { queue: "shop-notifications", messageId, body: { any: "thing" }, reason: "unreadable", attempts: 1 };
    await exports.default.recordDeadLetter(input);
    await exports.default.recordDeadLetter(input);
    expect(await deadLettersOf(messageId)).toEqual([
      expect.objectContaining({ queue: "shop-notifications", reason: "unreadable", attempts: 1, redriven_at: null }),
    ]);
    await expect(service().recordDeadLetter({ ...input, messageId: "", reason: "" })).rejects.toThrow(
      /dead letter is not valid/,
    );
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

  it("bad queries are 400 problems naming the field", async () => {
    for (const query of ["type=user.deleted", "from=yesterday", "to=2026-13-45", "cursor=not-a-cursor"]) {
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
    expect(await settledReceived(event.id, 1)).toBe(1);
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

  it("a dead letter of the bus goes back to shop-events, which stores the event", async () => {
    const event = orderConfirmed();
    const messages = asMessages(event);
    await deliver("shop-events-dlq", messages);
    const [letter] = await deadLettersOf(messages[0]?.id ?? "");
    const res = await call("/api/admin/dead-letters/redrive", { as: ADMIN, json: { ids: [letter?.id] } });
    expect(await res.json()).toEqual({ redriven: 1 });
    // The real shop-events queue delivers it to this Worker's consumer.
    await vi.waitFor(async () => expect(await storedCount(event.id)).toBe(1), { timeout: 10_000, interval: 100 });
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
