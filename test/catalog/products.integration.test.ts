import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import {
  admin,
  call,
  countRows,
  createProduct,
  customer,
  expectFieldError,
  expectProblem,
  expectStockInvariants,
  newOrderId,
  type Product,
  stockOf,
  UNKNOWN_PRODUCT_ID,
} from "./helpers";

afterEach(expectStockInvariants);

const PUBLIC_FIELDS = ["available", "createdAt", "currency", "description", "id", "name", "priceCents"];

describe("POST /api/products", () => {
  it("creates a product for an admin: 201, Location, stock available, nothing reserved or sold", async () => {
    const response = await call("/api/products", {
      as: admin(),
      body: { name: "  Mug  ", description: "Stoneware", priceCents: 1200, currency: "EUR", stock: 50 },
    });

    expect(response.status).toBe(201);
    const product = (await response.json()) as Product;
    expect(product).toEqual({
      id: expect.stringMatching(/^prd_[0-9a-hjkmnp-tv-z]{26}$/),
      name: "Mug",
      description: "Stoneware",
      priceCents: 1200,
      currency: "EUR",
      available: 50,
      reserved: 0,
      sold: 0,
      createdAt: expect.any(String),
    });
    expect(new Date(product.createdAt).toISOString()).toBe(product.createdAt);
    expect(response.headers.get("location")).toBe(`/api/products/${product.id}`);
    expect(await stockOf(product.id)).toEqual({
      productId: product.id,
      available: 50,
      reserved: 0,
      sold: 0,
      stocked: 50,
    });
  });

  it("defaults the description to an empty string and accepts zero stock", async () => {
    const product = await createProduct({ description: undefined, stock: 0 });

    expect(product.description).toBe("");
    expect(product.available).toBe(0);
  });

  it("answers 401 without an identity and 403 insufficient_scope for a customer, writing nothing", async () => {
    const before = await countRows("products");
    const body = { name: "Nope", priceCents: 1, currency: "EUR", stock: 1 };

    await expectProblem(await call("/api/products", { body }), 401, "unauthorized");
    await expectProblem(await call("/api/products", { as: customer(), body }), 403, "insufficient_scope");

    expect(await countRows("products")).toBe(before);
  });

  it("refuses a customer before reading the body (403, not 400)", async () => {
    await expectProblem(
      await call("/api/products", { as: customer(), body: { bad: true } }),
      403,
      "insufficient_scope",
    );
  });

  it.each([
    ["name", { name: "", priceCents: 100, currency: "EUR", stock: 1 }],
    ["name", { name: "x".repeat(201), priceCents: 100, currency: "EUR", stock: 1 }],
    ["priceCents", { name: "A", priceCents: -1, currency: "EUR", stock: 1 }],
    ["priceCents", { name: "A", priceCents: 9.99, currency: "EUR", stock: 1 }],
    ["priceCents", { name: "A", priceCents: "100", currency: "EUR", stock: 1 }],
    ["currency", { name: "A", priceCents: 100, currency: "eur", stock: 1 }],
    ["stock", { name: "A", priceCents: 100, currency: "EUR", stock: -5 }],
    ["stock", { name: "A", priceCents: 100, currency: "EUR" }],
    ["reserved", { name: "A", priceCents: 100, currency: "EUR", stock: 1, reserved: 5 }],
    ["id", { id: "prd_00000000000000000000000001", name: "A", priceCents: 100, currency: "EUR", stock: 1 }],
  ])("answers 400 naming %s and writes nothing", async (field, body) => {
    const before = await countRows("products");

    await expectFieldError(await call("/api/products", { as: admin(), body }), field);

    expect(await countRows("products")).toBe(before);
  });

  it("answers malformed JSON with 400 and a non-JSON body with 415, writing nothing", async () => {
    const before = await countRows("products");

    await expectProblem(
      await call("/api/products", {
        as: admin(),
        rawBody: "{not json",
        headers: { "content-type": "application/json" },
      }),
      400,
      "bad_request",
    );
    await expectProblem(
      await call("/api/products", { as: admin(), rawBody: "name=x", headers: { "content-type": "text/plain" } }),
      415,
      "unsupported_media_type",
    );
    expect(await countRows("products")).toBe(before);
  });
});

describe("GET /api/products/:id", () => {
  it("shows available stock to anyone, and reserved and sold only to admins", async () => {
    const { id } = await createProduct({ stock: 7 });

    for (const viewer of [undefined, customer()]) {
      const response = await call(`/api/products/${id}`, viewer ? { as: viewer } : {});
      expect(response.status).toBe(200);
      const product = (await response.json()) as Product;
      expect(Object.keys(product).sort()).toEqual(PUBLIC_FIELDS);
      expect(product.available).toBe(7);
    }

    const asAdmin = (await (await call(`/api/products/${id}`, { as: admin() })).json()) as Product;
    expect(asAdmin).toMatchObject({ id, available: 7, reserved: 0, sold: 0 });
  });

  it("answers 404 for an unknown product and 400 for a malformed id", async () => {
    await expectProblem(await call(`/api/products/${UNKNOWN_PRODUCT_ID}`), 404, "not_found");
    await expectFieldError(await call("/api/products/not-a-product-id"), "(root)");
    await expectFieldError(await call("/api/products/usr_00000000000000000000000000"), "(root)");
  });

  it("treats identity headers with an unknown role as anonymous", async () => {
    const { id } = await createProduct();

    const response = await call(`/api/products/${id}`, {
      headers: { "x-shop-user-id": "usr_00000000000000000000000000", "x-shop-user-role": "root" },
    });

    expect(Object.keys((await response.json()) as Product)).not.toContain("reserved");
  });
});

describe("PATCH /api/products/:id", () => {
  it("updates only the given fields and answers the admin view", async () => {
    const created = await createProduct({ name: "Old", description: "Keep me", priceCents: 500, stock: 4 });

    const response = await call(`/api/products/${created.id}`, {
      method: "PATCH",
      as: admin(),
      body: { name: "New", priceCents: 750 },
    });

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ...created, name: "New", priceCents: 750 });
    const reread = (await (await call(`/api/products/${created.id}`, { as: admin() })).json()) as Product;
    expect(reread).toEqual({ ...created, name: "New", priceCents: 750 });
  });

  it("can clear the description and change the currency", async () => {
    const created = await createProduct({ description: "Something" });

    const response = await call(`/api/products/${created.id}`, {
      method: "PATCH",
      as: admin(),
      body: { description: "", currency: "USD" },
    });

    expect(await response.json()).toMatchObject({ description: "", currency: "USD" });
  });

  it.each([
    ["available", { available: 1000 }],
    ["stock", { stock: 1000 }],
    ["sold", { name: "Fine", sold: 0 }],
    ["priceCents", { priceCents: -1 }],
    ["(root)", {}],
  ])("refuses %s with 400 and changes nothing", async (field, body) => {
    const created = await createProduct({ stock: 3 });

    await expectFieldError(await call(`/api/products/${created.id}`, { method: "PATCH", as: admin(), body }), field);

    expect(await (await call(`/api/products/${created.id}`, { as: admin() })).json()).toEqual(created);
    expect(await stockOf(created.id)).toMatchObject({ available: 3, stocked: 3 });
  });

  it("answers 401, 403, 400 and 404 in that order of checks", async () => {
    const { id } = await createProduct();
    const patch = { name: "X" };

    await expectProblem(await call(`/api/products/${id}`, { method: "PATCH", body: patch }), 401, "unauthorized");
    await expectProblem(
      await call(`/api/products/${id}`, { method: "PATCH", as: customer(), body: patch }),
      403,
      "insufficient_scope",
    );
    await expectFieldError(await call("/api/products/nope", { method: "PATCH", as: admin(), body: patch }), "(root)");
    await expectProblem(
      await call(`/api/products/${UNKNOWN_PRODUCT_ID}`, { method: "PATCH", as: admin(), body: patch }),
      404,
      "not_found",
    );
    expect((await (await call(`/api/products/${id}`)).json()) as Product).not.toMatchObject({ name: "X" });
  });
});

describe("POST /api/products/:id/restock", () => {
  it("adds to available and to the stocked total, keeping reserved and sold", async () => {
    const { id } = await createProduct({ stock: 4 });
    const sold = newOrderId();
    expect(await exports.default.reserve(sold, [{ productId: id, quantity: 1 }])).toMatchObject({ ok: true });
    expect(await exports.default.commit(sold)).toMatchObject({ ok: true });
    expect(await exports.default.reserve(newOrderId(), [{ productId: id, quantity: 2 }])).toMatchObject({ ok: true });

    const response = await call(`/api/products/${id}/restock`, { as: admin(), body: { quantity: 5 } });

    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id, available: 6, reserved: 2, sold: 1 });
    expect(await stockOf(id)).toEqual({ productId: id, available: 6, reserved: 2, sold: 1, stocked: 9 });
  });

  it.each([
    ["quantity", { quantity: 0 }],
    ["quantity", { quantity: -3 }],
    ["quantity", { quantity: 1.5 }],
    ["quantity", {}],
    ["available", { quantity: 1, available: 100 }],
  ])("refuses %s with 400 and changes no stock", async (field, body) => {
    const { id } = await createProduct({ stock: 2 });

    await expectFieldError(await call(`/api/products/${id}/restock`, { as: admin(), body }), field);

    expect(await stockOf(id)).toMatchObject({ available: 2, stocked: 2 });
  });

  it("is for admins only, and answers 404 for an unknown product", async () => {
    const { id } = await createProduct({ stock: 2 });
    const body = { quantity: 1 };

    await expectProblem(await call(`/api/products/${id}/restock`, { body }), 401, "unauthorized");
    await expectProblem(await call(`/api/products/${id}/restock`, { as: customer(), body }), 403, "insufficient_scope");
    await expectProblem(
      await call(`/api/products/${UNKNOWN_PRODUCT_ID}/restock`, { as: admin(), body }),
      404,
      "not_found",
    );
    expect(await stockOf(id)).toMatchObject({ available: 2, stocked: 2 });
  });
});

describe("the HTTP app behind the gateway", () => {
  it("keeps the gateway's request id as the problem instance", async () => {
    const requestId = "0f8c1d2e-3b4a-4c5d-8e6f-7a8b9c0d1e2f";

    const problem = await expectProblem(
      await call(`/api/products/${UNKNOWN_PRODUCT_ID}`, { headers: { "x-request-id": requestId } }),
      404,
      "not_found",
    );

    expect(problem.instance).toBe(`urn:uuid:${requestId}`);
  });

  it("answers an unknown route or method with a 404 problem", async () => {
    const { id } = await createProduct();

    await expectProblem(await call("/api/nothing-here"), 404, "not_found");
    await expectProblem(await call(`/api/products/${id}`, { method: "DELETE", as: admin() }), 404, "not_found");
  });
});
