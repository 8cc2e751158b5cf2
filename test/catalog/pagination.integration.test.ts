import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { admin, call, createProduct, customer, expectFieldError, type Product, type ProductPage } from "./helpers";

/** GET /api/products: newest first, keyset-paged, `limit` clamped to 1..100. */

async function page(query: string, as?: ReturnType<typeof admin>): Promise<ProductPage> {
  const response = await call(`/api/products${query}`, as ? { as } : {});
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as ProductPage;
}

/** Follows nextCursor from the first page to the last. */
async function walk(limit: number): Promise<{ items: Product[]; pages: number }> {
  const items: Product[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const current: ProductPage = await page(`?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    expect(current.items.length).toBeLessThanOrEqual(limit);
    items.push(...current.items);
    cursor = current.nextCursor;
    pages += 1;
  } while (cursor !== null && pages < 1000);
  return { items, pages };
}

async function allIdsNewestFirst(): Promise<string[]> {
  const { results } = await env.DB.prepare("SELECT id FROM products ORDER BY created_at DESC, id DESC").all<{
    id: string;
  }>();
  return results.map((row) => row.id);
}

describe("GET /api/products", () => {
  beforeAll(async () => {
    // 23 products, several sharing a millisecond, so the id must break ties in the cursor.
    for (let i = 0; i < 23; i++) await createProduct({ name: `Listed ${i}` });
    const same = "2026-11-02T10:00:00.000Z";
    await env.DB.prepare("UPDATE products SET created_at = ? WHERE name IN ('Listed 3', 'Listed 4', 'Listed 5')")
      .bind(same)
      .run();
  });

  it("walks every product exactly once, newest first, across pages", async () => {
    const expected = await allIdsNewestFirst();

    for (const limit of [1, 5, 7, 23, 100]) {
      const { items, pages } = await walk(limit);
      expect(items.map((p) => p.id)).toEqual(expected);
      expect(pages).toBe(Math.max(1, Math.ceil(expected.length / limit)));
    }
  });

  it("answers nextCursor null on the last page", async () => {
    const total = (await allIdsNewestFirst()).length;

    expect((await page(`?limit=${total}`)).nextCursor).toBeNull();
    expect((await page(`?limit=${total - 1}`)).nextCursor).toEqual(expect.any(String));
  });

  it("serves the first page for an empty cursor", async () => {
    expect(await page("?limit=5&cursor=")).toEqual(await page("?limit=5"));
  });

  it("defaults to 20 items, clamps limit=0 to 1 and limit=1000 to 100", async () => {
    for (let i = 0; i < 80; i++) await createProduct({ name: `Bulk ${i}` });
    const total = (await allIdsNewestFirst()).length;
    expect(total).toBeGreaterThan(100);

    expect((await page("")).items).toHaveLength(20);
    expect((await page("?limit=0")).items).toHaveLength(1);
    expect((await page("?limit=-5")).items).toHaveLength(1);
    expect((await page("?limit=1000")).items).toHaveLength(100);
    expect((await page("?limit=abc")).items).toHaveLength(20);
  });

  it("does not repeat or skip items when products are added between pages", async () => {
    const first = await page("?limit=3");
    const added = await createProduct({ name: "Added while paging" });

    const second = await page(`?limit=3&cursor=${first.nextCursor}`);

    const seen = [...first.items, ...second.items].map((p) => p.id);
    expect(new Set(seen).size).toBe(6);
    expect(seen).not.toContain(added.id);
    expect(second.items.map((p) => p.id)).toEqual((await allIdsNewestFirst()).slice(4, 7));
  });

  it("shows reserved and sold to admins only", async () => {
    const forAdmin = await page("?limit=5", admin());
    const forCustomer = await page("?limit=5", customer());
    const forAnyone = await page("?limit=5");

    for (const item of forAdmin.items) expect(item).toMatchObject({ reserved: 0, sold: 0 });
    for (const item of [...forCustomer.items, ...forAnyone.items]) {
      expect(Object.keys(item).sort()).toEqual([
        "available",
        "createdAt",
        "currency",
        "description",
        "id",
        "name",
        "priceCents",
      ]);
    }
  });

  it.each([
    ["garbage", "not-a-cursor"],
    ["valid base64 of something else", btoa(JSON.stringify({ a: 1 }))],
    [
      "a cursor with a foreign id",
      btoa(JSON.stringify(["2026-11-01T00:00:00.000Z", "usr_00000000000000000000000000"])),
    ],
    ["a cursor that is too long", "a".repeat(201)],
  ])("answers 400 naming the cursor for %s", async (_label, cursor) => {
    await expectFieldError(await call(`/api/products?cursor=${encodeURIComponent(cursor)}`), "cursor");
  });
});
