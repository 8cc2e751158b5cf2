import { describe, expect, it } from "vitest";
import { call, expectStatus, problemOf, registerAndLogin, shopClient } from "./helpers";

// Through the typed client; the invalid product (fields the contract forbids) stays raw.

describe("catalog through the gateway", () => {
  it("lets admins manage products and shows stock detail to admins only", async () => {
    const admin = await registerAndLogin({ role: "admin" });
    const customer = await registerAndLogin();
    const product = { name: "Gateway mug", priceCents: 1500, currency: "EUR", stock: 7 };
    const anyone = shopClient();

    const refused = await customer.shop.api.POST("/api/products", { body: product });
    expect(refused.response.status).toBe(403);
    expect(refused.response.headers.get("www-authenticate")).toBe(
      'Bearer realm="edge-shop", error="insufficient_scope"',
    );
    expect((await anyone.api.POST("/api/products", { body: product })).response.status).toBe(401);

    const { id } = expectStatus(await admin.shop.api.POST("/api/products", { body: product }), 201);
    const path = { path: { id } };

    const asAnyone = (await anyone.api.GET("/api/products/{id}", { params: path })).data;
    expect(asAnyone).toMatchObject({ id, name: "Gateway mug", priceCents: 1500, currency: "EUR", available: 7 });
    expect(asAnyone).not.toHaveProperty("reserved");
    const asAdmin = (await admin.shop.api.GET("/api/products/{id}", { params: path })).data;
    expect(asAdmin).toMatchObject({ available: 7, reserved: 0, sold: 0 });

    const restocked = await admin.shop.api.POST("/api/products/{id}/restock", { params: path, body: { quantity: 3 } });
    expect(restocked.data).toMatchObject({ available: 10 });
  });

  it("validates at the gateway: a client's own stock fields or a bad price never reach the catalog", async () => {
    const admin = await registerAndLogin({ role: "admin" });
    const bad = await call("/api/products", {
      token: admin.accessToken,
      json: { name: "x", priceCents: -1, currency: "euro", stock: 1, sold: 5 },
    });
    expect(bad.status).toBe(400);
    const paths = ((await problemOf(bad)).errors as { path: string }[]).map((e) => e.path).sort();
    expect(paths).toEqual(["currency", "priceCents", "sold"]);
  });

  it("pages the public list with a clamped limit", async () => {
    const anyone = shopClient();
    const page = expectStatus(await anyone.api.GET("/api/products", { params: { query: { limit: 1000 } } }), 200);
    expect(page.items.length).toBeLessThanOrEqual(100);
    const invalidId = await anyone.api.GET("/api/products/{id}", { params: { path: { id: "prd_nope" } } });
    expect(invalidId.response.status).toBe(400);
  });
});
