import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_ORDER_TOTAL_CENTS } from "#shared/contracts/common";
import type { Schemas } from "../../clients/typescript/src/index";
import { createGateway } from "../../workers/gateway/src/app";
import { call, expectStatus, freshIp, problemOf, registerAndLogin, type TestUser } from "./helpers";

// Through the typed client (`user.shop`); the malformed requests (no Idempotency-Key, an invalid
// fault document) and the gateway built with other settings stay raw.

async function product(admin: TestUser, stock: number, priceCents = 1000): Promise<string> {
  const created = await admin.shop.api.POST("/api/products", {
    body: { name: `Product ${crypto.randomUUID().slice(0, 6)}`, priceCents, currency: "EUR", stock },
  });
  return expectStatus(created, 201).id;
}

function order(user: TestUser, items: { productId: string; quantity: number }[], key = crypto.randomUUID()) {
  return user.shop.api.POST("/api/orders", { params: { header: { "idempotency-key": key } }, body: { items } });
}

async function place(user: TestUser, items: { productId: string; quantity: number }[]): Promise<Schemas["Order"]> {
  return (await order(user, items)).data as Schemas["Order"];
}

const stockOf = async (admin: TestUser, id: string) =>
  expectStatus(await admin.shop.api.GET("/api/products/{id}", { params: { path: { id } } }), 200);

async function setFaults(admin: TestUser, faults: Schemas["Faults"]): Promise<void> {
  const res = await admin.shop.api.PUT("/api/admin/faults", { body: faults });
  expect(res.response.status).toBe(200);
}

describe("orders through the gateway", () => {
  let admin: TestUser;
  afterEach(async () => {
    if (admin) await setFaults(admin, { psp: {} });
  });

  it("places an order end to end: priced by the catalog, saga completed, stock sold", async () => {
    admin = await registerAndLogin({ role: "admin" });
    const buyer = await registerAndLogin();
    const productId = await product(admin, 5, 1250);
    const res = await order(buyer, [{ productId, quantity: 2 }]);
    const placed = expectStatus(res, 201);
    expect(res.response.headers.get("location")).toBe(`/api/orders/${placed.id}`);
    expect(placed).toMatchObject({
      userId: buyer.id,
      status: "confirmed",
      totalCents: 2500,
      saga: { state: "completed" },
    });
    expect(placed.saga.steps.map((s) => `${s.name}:${s.status}`)).toEqual([
      "reserve_stock:succeeded",
      "authorize_payment:succeeded",
      "confirm_order:succeeded",
      "commit_stock:succeeded",
      "capture_payment:succeeded",
    ]);
    const stock = await stockOf(admin, productId);
    expect(stock).toMatchObject({ available: 3, reserved: 0, sold: 2 });
    const payment = await env.PAYMENTS_DB.prepare("SELECT status FROM payments WHERE order_id = ?")
      .bind(placed.id)
      .first();
    expect(payment).toEqual({ status: "captured" });
  });

  it("refuses a total above MAX_ORDER_TOTAL_CENTS with a 422 problem (not a 502) and stores no order", async () => {
    admin = await registerAndLogin({ role: "admin" });
    const buyer = await registerAndLogin();
    const productId = await product(admin, 10, MAX_ORDER_TOTAL_CENTS);
    const res = await order(buyer, [{ productId, quantity: 2 }]);
    expect(res.response.status).toBe(422);
    expect(res.response.headers.get("content-type")).toBe("application/problem+json");
    const problem = res.error as Schemas["Problem"];
    expect(problem).toMatchObject({ status: 422, code: "unprocessable" });
    expect(String(problem.detail)).toContain(`maximum of ${MAX_ORDER_TOTAL_CENTS}`);
    const orders = await env.ORDERS_DB.prepare("SELECT COUNT(*) AS n FROM orders WHERE user_id = ?")
      .bind(buyer.id)
      .first<{ n: number }>();
    expect(orders?.n).toBe(0);
  });

  it("keeps orders private: another user gets 404, an admin sees it", async () => {
    admin = await registerAndLogin({ role: "admin" });
    const owner = await registerAndLogin();
    const stranger = await registerAndLogin();
    const { id } = await place(owner, [{ productId: await product(admin, 3), quantity: 1 }]);
    const path = { path: { id } };
    expect((await stranger.shop.api.GET("/api/orders/{id}", { params: path })).response.status).toBe(404);
    expect((await stranger.shop.api.POST("/api/orders/{id}/cancel", { params: path })).response.status).toBe(404);
    const list = expectStatus(await stranger.shop.api.GET("/api/orders"), 200);
    expect(list.items.map((o) => o.id)).not.toContain(id);
    expect((await admin.shop.api.GET("/api/orders/{id}", { params: path })).response.status).toBe(200);
  });

  it("replays the same Idempotency-Key with one effect, and refuses a different body or no key", async () => {
    admin = await registerAndLogin({ role: "admin" });
    const buyer = await registerAndLogin();
    const productId = await product(admin, 10);
    // The client's placeOrder: the key it is given, `replayed` from the Idempotent-Replayed header.
    const first = await buyer.shop.placeOrder([{ productId, quantity: 1 }], '"key-1"');
    const again = await buyer.shop.placeOrder([{ productId, quantity: 1 }], '"key-1"');
    expect(again.replayed).toBe(true);
    expect(again.order.id).toBe(first.order.id);
    await expect(buyer.shop.placeOrder([{ productId, quantity: 2 }], '"key-1"')).rejects.toMatchObject({ status: 422 });
    const noKey = await call("/api/orders", {
      token: buyer.accessToken,
      json: { items: [{ productId, quantity: 1 }] },
    });
    expect(noKey.status).toBe(400);
    const orders = await env.ORDERS_DB.prepare("SELECT COUNT(*) AS n FROM orders WHERE user_id = ?")
      .bind(buyer.id)
      .first<{ n: number }>();
    expect(orders?.n).toBe(1);
  });

  it("cancels a declined payment's order with its reason and its stock back", async () => {
    admin = await registerAndLogin({ role: "admin" });
    const buyer = await registerAndLogin();
    const productId = await product(admin, 4);
    await setFaults(admin, { psp: { declineRate: 1 } });
    // Followed with the client's followOrder until the saga is at rest.
    const declined = await buyer.shop.followOrder((await place(buyer, [{ productId, quantity: 3 }])).id);
    expect(declined).toMatchObject({ status: "cancelled", reason: "payment_declined", saga: { state: "cancelled" } });
    const stock = await stockOf(admin, productId);
    expect(stock).toMatchObject({ available: 4, reserved: 0, sold: 0 });
  });

  it("refunds a confirmed order on cancel and refuses to ship it", async () => {
    admin = await registerAndLogin({ role: "admin" });
    const buyer = await registerAndLogin();
    const productId = await product(admin, 2);
    const { id } = await place(buyer, [{ productId, quantity: 1 }]);
    const path = { path: { id } };
    const cancelled = await buyer.shop.api.POST("/api/orders/{id}/cancel", { params: path });
    expect(cancelled.response.status).toBe(200);
    expect(cancelled.data).toMatchObject({ status: "cancelled", reason: "cancelled_by_customer" });
    const ship = await admin.shop.api.POST("/api/orders/{id}/ship", { params: path, body: {} });
    expect(ship.response.status).toBe(409);
    expect((await buyer.shop.api.POST("/api/orders/{id}/cancel", { params: path })).response.status).toBe(409);
    const payment = await env.PAYMENTS_DB.prepare("SELECT status FROM payments WHERE order_id = ?").bind(id).first();
    expect(payment).toEqual({ status: "refunded" });
  });

  it("ships a completed order for admins only, with a tracking number", async () => {
    admin = await registerAndLogin({ role: "admin" });
    const buyer = await registerAndLogin();
    const { id } = await place(buyer, [{ productId: await product(admin, 2), quantity: 1 }]);
    const ship = (user: TestUser) =>
      user.shop.api.POST("/api/orders/{id}/ship", { params: { path: { id } }, body: {} });
    expect((await ship(buyer)).response.status).toBe(403);
    const shipped = await ship(admin);
    expect(shipped.response.status).toBe(200);
    expect(shipped.data).toMatchObject({ status: "shipped", trackingNumber: expect.stringMatching(/^TRK-/) });
    expect((await ship(admin)).response.status).toBe(409);
  });
});

describe("fault injection", () => {
  it("is admin only, validated, and absent where FAULTS_ENABLED is not true", async () => {
    const admin = await registerAndLogin({ role: "admin" });
    const customer = await registerAndLogin();
    expect((await customer.shop.api.PUT("/api/admin/faults", { body: {} })).response.status).toBe(403);
    const bad = await call("/api/admin/faults", {
      method: "PUT",
      token: admin.accessToken,
      json: { bank: { errorRate: 2 } },
    });
    expect(bad.status).toBe(400);
    const locked = await createGateway().request(
      "/api/admin/faults",
      {
        method: "PUT",
        headers: {
          authorization: `Bearer ${admin.accessToken}`,
          "content-type": "application/json",
          "cf-connecting-ip": freshIp(),
        },
        body: "{}",
      },
      { ...env, FAULTS_ENABLED: "false" },
    );
    expect(locked.status).toBe(404);
    expect((await problemOf(locked)).code).toBe("not_found");
  });
});
