import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  admin,
  call,
  createProduct,
  customer,
  expectProblem,
  getOrder,
  type Identity,
  type OrderBody,
  type OrderPage,
  placeOrder,
} from "./helpers";

/** GET /api/orders and GET /api/admin/sagas: own orders only, newest first, keyset pagination. */

async function page<T = OrderPage>(path: string, as: Identity): Promise<T> {
  const response = await call(path, { as });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return JSON.parse(text) as T;
}

/** Every page of a list, following nextCursor; returns the ids in order and the number of pages. */
async function walk(path: string, as: Identity, limit: number): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const query = `limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const current: OrderPage = await page(`${path}?${query}`, as);
    expect(current.items.length).toBeLessThanOrEqual(limit);
    ids.push(...current.items.map((o) => o.id));
    cursor = current.nextCursor;
    pages += 1;
  } while (cursor);
  return { ids, pages };
}

describe("GET /api/orders", () => {
  it("shows a customer only their own orders, newest first, in pages without gaps or repeats", async () => {
    const product = await createProduct({ stock: 50 });
    const alice = customer();
    const bob = customer();
    const hers: OrderBody[] = [];
    for (let i = 0; i < 5; i++) hers.push((await placeOrder(alice, [{ productId: product.id, quantity: 1 }])).order);
    const his = (await placeOrder(bob, [{ productId: product.id, quantity: 2 }])).order;
    const newestFirst = hers.map((o) => o.id).reverse();

    const all = await page("/api/orders", alice);
    expect(all.items.map((o) => o.id)).toEqual(newestFirst);
    expect(all.nextCursor).toBeNull();
    // Each item is the whole order, saga history included.
    expect(all.items[0]).toEqual(await getOrder(newestFirst[0] as string, alice));

    expect(await walk("/api/orders", alice, 2)).toEqual({ ids: newestFirst, pages: 3 });
    expect(await walk("/api/orders", alice, 5)).toEqual({ ids: newestFirst, pages: 1 });
    expect((await page("/api/orders", bob)).items.map((o) => o.id)).toEqual([his.id]);
    expect((await page("/api/orders", customer())).items).toEqual([]);
  });

  it("a cursor keeps its place when newer orders arrive meanwhile", async () => {
    const product = await createProduct({ stock: 50 });
    const buyer = customer();
    const older: string[] = [];
    for (let i = 0; i < 4; i++)
      older.push((await placeOrder(buyer, [{ productId: product.id, quantity: 1 }])).order.id);
    const first = await page(`/api/orders?limit=2`, buyer);
    expect(first.items.map((o) => o.id)).toEqual([older[3], older[2]]);
    const newer = (await placeOrder(buyer, [{ productId: product.id, quantity: 1 }])).order.id;
    const second = await page(`/api/orders?limit=2&cursor=${encodeURIComponent(first.nextCursor ?? "")}`, buyer);
    expect(second.items.map((o) => o.id)).toEqual([older[1], older[0]]);
    expect(second.nextCursor).toBeNull();
    expect((await page("/api/orders", buyer)).items.map((o) => o.id)).toEqual([newer, ...[...older].reverse()]);
  });

  it("an admin sees every user's orders, newest first", async () => {
    const product = await createProduct({ stock: 10 });
    const one = (await placeOrder(customer(), [{ productId: product.id, quantity: 1 }])).order;
    const two = (await placeOrder(customer(), [{ productId: product.id, quantity: 1 }])).order;
    const boss = admin();
    const latest = await page("/api/orders?limit=2", boss);
    expect(latest.items.map((o) => o.id)).toEqual([two.id, one.id]);

    const { ids } = await walk("/api/orders", boss, 7);
    const total = await env.DB.prepare("SELECT COUNT(*) AS n FROM orders").first<{ n: number }>();
    expect(ids).toHaveLength(total?.n ?? -1);
    expect(new Set(ids).size).toBe(ids.length);
    const { results } = await env.DB.prepare("SELECT id FROM orders ORDER BY created_at DESC, id DESC").all<{
      id: string;
    }>();
    expect(ids).toEqual(results.map((r) => r.id));
  });

  it("clamps limit to 1..100, refuses a forged cursor, and needs an identity", async () => {
    const product = await createProduct({ stock: 10 });
    const buyer = customer();
    for (let i = 0; i < 2; i++) await placeOrder(buyer, [{ productId: product.id, quantity: 1 }]);
    expect((await page("/api/orders?limit=0", buyer)).items).toHaveLength(1);
    expect((await page("/api/orders?limit=-5", buyer)).items).toHaveLength(1);
    expect((await page("/api/orders?limit=1000", buyer)).items).toHaveLength(2);
    expect((await page("/api/orders?limit=abc", buyer)).items).toHaveLength(2);
    expect((await page("/api/orders?limit=1000", admin())).items.length).toBeLessThanOrEqual(100);
    await expectProblem(await call("/api/orders?cursor=not-a-cursor", { as: buyer }), 400, "validation_failed");
    await expectProblem(await call(`/api/orders?cursor=${btoa('["x"]')}`, { as: buyer }), 400, "validation_failed");
    await expectProblem(await call("/api/orders"), 401, "unauthorized");
  });
});

describe("GET /api/admin/sagas", () => {
  interface SagaPage {
    items: { orderId: string; state: string; status: string; updatedAt: string }[];
    nextCursor: string | null;
  }

  it("is for admins only", async () => {
    await expectProblem(await call("/api/admin/sagas", { as: customer() }), 403, "insufficient_scope");
    await expectProblem(await call("/api/admin/sagas"), 401, "unauthorized");
  });

  it("lists sagas with their order's status, filtered by state", async () => {
    const product = await createProduct({ stock: 1 });
    const confirmed = (await placeOrder(customer(), [{ productId: product.id, quantity: 1 }])).order;
    const cancelled = (await placeOrder(customer(), [{ productId: product.id, quantity: 1 }])).order;
    expect([confirmed.saga.state, cancelled.saga.state]).toEqual(["completed", "cancelled"]);
    const boss = admin();

    const completedPage = await page<SagaPage>("/api/admin/sagas?state=completed&limit=100", boss);
    expect(completedPage.items.length).toBeGreaterThan(0);
    expect(completedPage.items.every((s) => s.state === "completed")).toBe(true);
    expect(completedPage.items).toContainEqual({
      orderId: confirmed.id,
      state: "completed",
      status: "confirmed",
      updatedAt: expect.any(String),
    });
    expect(completedPage.items.map((s) => s.orderId)).not.toContain(cancelled.id);

    const cancelledPage = await page<SagaPage>("/api/admin/sagas?state=cancelled&limit=100", boss);
    expect(cancelledPage.items.every((s) => s.state === "cancelled")).toBe(true);
    expect(cancelledPage.items).toContainEqual(
      expect.objectContaining({ orderId: cancelled.id, state: "cancelled", status: "cancelled" }),
    );
    expect(cancelledPage.items.map((s) => s.orderId)).not.toContain(confirmed.id);

    // Unfiltered, newest change first, paginated.
    const latest = await page<SagaPage>("/api/admin/sagas?limit=2", boss);
    expect(latest.items.map((s) => s.orderId)).toEqual([cancelled.id, confirmed.id]);
    expect(latest.nextCursor).not.toBeNull();
    const next = await page<SagaPage>(
      `/api/admin/sagas?limit=2&cursor=${encodeURIComponent(latest.nextCursor ?? "")}`,
      boss,
    );
    expect(next.items.map((s) => s.orderId)).not.toContain(confirmed.id);
    expect(next.items.map((s) => s.orderId)).not.toContain(cancelled.id);

    await expectProblem(await call("/api/admin/sagas?state=done", { as: boss }), 400, "validation_failed");
  });
});
