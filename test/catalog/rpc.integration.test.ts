import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createProduct, expectFailure, type Product, runDevSeed, UNKNOWN_PRODUCT_ID } from "./helpers";

/** The read side of the RPC surface: health, prices for orders, stock levels. */

const catalog = exports.default;

describe("health", () => {
  it("answers ok after pinging catalog-db", async () => {
    expect(await catalog.health()).toEqual({ status: "ok", service: "shop-catalog" });
  });
});

describe("quote", () => {
  it("prices each distinct product once, in the order first asked, from the catalog", async () => {
    const mug = await createProduct({ name: "Mug", priceCents: 1200, currency: "EUR" });
    const pen = await createProduct({ name: "Pen", priceCents: 150, currency: "EUR" });

    const result = await catalog.quote([pen.id, mug.id, pen.id]);

    expect(result).toEqual({
      ok: true,
      value: [
        { id: pen.id, name: "Pen", priceCents: 150, currency: "EUR" },
        { id: mug.id, name: "Mug", priceCents: 1200, currency: "EUR" },
      ],
    });
  });

  it("follows a price change", async () => {
    const { id } = await createProduct({ priceCents: 1000 });
    await call(`/api/products/${id}`, {
      method: "PATCH",
      as: { id: "usr_00000000000000000000000000", role: "admin" },
      body: { priceCents: 1100 },
    });

    expect(await catalog.quote([id])).toMatchObject({ ok: true, value: [{ id, priceCents: 1100 }] });
  });

  it("answers not_found naming the first unknown id", async () => {
    const { id } = await createProduct();

    const result = await catalog.quote([id, UNKNOWN_PRODUCT_ID]);

    expectFailure(result, "not_found");
    expect(result.ok === false && result.detail).toContain(UNKNOWN_PRODUCT_ID);
  });

  it("answers an empty list with an empty list", async () => {
    expect(await catalog.quote([])).toEqual({ ok: true, value: [] });
  });

  it("answers validation_failed for malformed ids or more than 100 of them", async () => {
    expectFailure(await catalog.quote(["prd_nope"]), "validation_failed");
    expectFailure(await catalog.quote("prd_00000000000000000000000000" as never), "validation_failed");
    expectFailure(await catalog.quote(Array(101).fill(UNKNOWN_PRODUCT_ID)), "validation_failed");
  });
});

describe("stock", () => {
  it("reports the four counters of a product", async () => {
    const { id } = await createProduct({ stock: 12 });

    expect(await catalog.stock(id)).toEqual({
      ok: true,
      value: { productId: id, available: 12, reserved: 0, sold: 0, stocked: 12 },
    });
  });

  it("answers null for an unknown id and validation_failed for a malformed one", async () => {
    expect(await catalog.stock(UNKNOWN_PRODUCT_ID)).toEqual({ ok: true, value: null });
    expectFailure(await catalog.stock("not-an-id"), "validation_failed");
  });
});

describe("the dev seed (d1/catalog/seed.sql)", () => {
  it("adds five EUR products with valid ids, and running it again changes nothing", async () => {
    await runDevSeed();
    const { results: first } = await env.DB.prepare(
      "SELECT * FROM products WHERE id LIKE 'prd\\_%seed%' ESCAPE '\\' ORDER BY id",
    ).all<Record<string, unknown>>();
    await env.DB.prepare("UPDATE products SET available = available - 1, sold = sold + 1 WHERE id = ?")
      .bind(first[0]?.id)
      .run();

    await runDevSeed();

    const { results: second } = await env.DB.prepare(
      "SELECT * FROM products WHERE id LIKE 'prd\\_%seed%' ESCAPE '\\' ORDER BY id",
    ).all<Record<string, unknown>>();
    expect(first).toHaveLength(5);
    expect(second).toHaveLength(5);
    expect(second[0]).toMatchObject({ available: (first[0]?.available as number) - 1, sold: 1 });
    for (const row of first) {
      expect(row.id).toMatch(/^prd_[0-9a-hjkmnp-tv-z]{26}$/);
      expect(row).toMatchObject({ currency: "EUR", reserved: 0, sold: 0 });
      expect(row.available).toBe(row.stocked);
    }
    const poster = first.find((row) => String(row.name).includes("poster"));
    expect(poster).toMatchObject({ available: 3 });
    const response = await call(`/api/products/${poster?.id}`);
    expect(((await response.json()) as Product).available).toBe(3);
  });
});
