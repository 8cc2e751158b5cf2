import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { createGateway } from "../../workers/gateway/src/app";
import { MAX_ORDER_TOTAL_CENTS } from "../../workers/shared/src/contracts/common";
import { call, freshIp, problemOf, registerAndLogin, type TestUser } from "./helpers";

interface Order {
  id: string;
  userId: string;
  status: string;
  reason?: string;
  totalCents: number;
  saga: { state: string; steps: { name: string; status: string }[] };
}

async function product(admin: TestUser, stock: number, priceCents = 1000): Promise<string> {
  const res = await call("/api/products", {
    token: admin.accessToken,
    json: { name: `Product ${crypto.randomUUID().slice(0, 6)}`, priceCents, currency: "EUR", stock },
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

function order(user: TestUser, items: { productId: string; quantity: number }[], key = crypto.randomUUID()) {
  return call("/api/orders", { token: user.accessToken, json: { items }, headers: { "idempotency-key": key } });
}

async function setFaults(admin: TestUser, faults: Record<string, unknown>): Promise<void> {
  const res = await call("/api/admin/faults", { method: "PUT", token: admin.accessToken, json: faults });
  expect(res.status).toBe(200);
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
    expect(res.status).toBe(201);
    const placed = (await res.json()) as Order;
    expect(res.headers.get("location")).toBe(`/api/orders/${placed.id}`);
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
    const stock = (await (await call(`/api/products/${productId}`, { token: admin.accessToken })).json()) as Record<
      string,
      number
    >;
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
    expect(res.status).toBe(422);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const problem = await problemOf(res);
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
    const placed = (await (await order(owner, [{ productId: await product(admin, 3), quantity: 1 }])).json()) as Order;
    expect((await call(`/api/orders/${placed.id}`, { token: stranger.accessToken })).status).toBe(404);
    expect(
      (await call(`/api/orders/${placed.id}/cancel`, { method: "POST", token: stranger.accessToken })).status,
    ).toBe(404);
    const list = (await (await call("/api/orders", { token: stranger.accessToken })).json()) as { items: Order[] };
    expect(list.items.map((o) => o.id)).not.toContain(placed.id);
    expect((await call(`/api/orders/${placed.id}`, { token: admin.accessToken })).status).toBe(200);
  });

  it("replays the same Idempotency-Key with one effect, and refuses a different body or no key", async () => {
    admin = await registerAndLogin({ role: "admin" });
    const buyer = await registerAndLogin();
    const productId = await product(admin, 10);
    const first = (await (await order(buyer, [{ productId, quantity: 1 }], '"key-1"')).json()) as Order;
    const again = await order(buyer, [{ productId, quantity: 1 }], '"key-1"');
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(((await again.json()) as Order).id).toBe(first.id);
    expect((await order(buyer, [{ productId, quantity: 2 }], '"key-1"')).status).toBe(422);
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
    const placed = (await (await order(buyer, [{ productId, quantity: 3 }])).json()) as Order;
    expect(placed).toMatchObject({ status: "cancelled", reason: "payment_declined", saga: { state: "cancelled" } });
    const stock = (await (await call(`/api/products/${productId}`, { token: admin.accessToken })).json()) as Record<
      string,
      number
    >;
    expect(stock).toMatchObject({ available: 4, reserved: 0, sold: 0 });
  });

  it("refunds a confirmed order on cancel and refuses to ship it", async () => {
    admin = await registerAndLogin({ role: "admin" });
    const buyer = await registerAndLogin();
    const productId = await product(admin, 2);
    const placed = (await (await order(buyer, [{ productId, quantity: 1 }])).json()) as Order;
    const cancelled = await call(`/api/orders/${placed.id}/cancel`, { method: "POST", token: buyer.accessToken });
    expect(cancelled.status).toBe(200);
    expect(await cancelled.json()).toMatchObject({ status: "cancelled", reason: "cancelled_by_customer" });
    const ship = await call(`/api/orders/${placed.id}/ship`, { token: admin.accessToken, json: {} });
    expect(ship.status).toBe(409);
    expect((await call(`/api/orders/${placed.id}/cancel`, { method: "POST", token: buyer.accessToken })).status).toBe(
      409,
    );
    const payment = await env.PAYMENTS_DB.prepare("SELECT status FROM payments WHERE order_id = ?")
      .bind(placed.id)
      .first();
    expect(payment).toEqual({ status: "refunded" });
  });

  it("ships a completed order for admins only, with a tracking number", async () => {
    admin = await registerAndLogin({ role: "admin" });
    const buyer = await registerAndLogin();
    const placed = (await (await order(buyer, [{ productId: await product(admin, 2), quantity: 1 }])).json()) as Order;
    expect((await call(`/api/orders/${placed.id}/ship`, { token: buyer.accessToken, json: {} })).status).toBe(403);
    const shipped = await call(`/api/orders/${placed.id}/ship`, { token: admin.accessToken, json: {} });
    expect(shipped.status).toBe(200);
    expect(await shipped.json()).toMatchObject({ status: "shipped", trackingNumber: expect.stringMatching(/^TRK-/) });
    expect((await call(`/api/orders/${placed.id}/ship`, { token: admin.accessToken, json: {} })).status).toBe(409);
  });
});

describe("fault injection", () => {
  it("is admin only, validated, and absent where FAULTS_ENABLED is not true", async () => {
    const admin = await registerAndLogin({ role: "admin" });
    const customer = await registerAndLogin();
    expect((await call("/api/admin/faults", { method: "PUT", token: customer.accessToken, json: {} })).status).toBe(
      403,
    );
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
