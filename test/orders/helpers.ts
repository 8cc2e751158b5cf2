import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import { Outbox } from "#queues/outbox";
import type { RpcFaults } from "#shared/contracts/faults";
import type { SagaView } from "#shared/contracts/orders";
import type { Faults } from "#shared/contracts/payments";
import { newId } from "#shared/ids";
import { OrdersRepository } from "../../workers/orders/src/repository";
import type { SagaMachineState } from "../../workers/orders/src/saga/machine";
import { type CallOptions, type Identity, serviceRequest } from "../support/service-http";

export {
  type CallOptions,
  expectProblem,
  type Identity,
  PROBLEM_CONTENT_TYPE,
  type Problem,
  type Role,
} from "../support/service-http";

/**
 * Helpers for the shop-orders integration tests. The tests play the gateway: they call the orders
 * HTTP app with the identity headers the gateway sets after verifying a token. Catalog and
 * payments are reached through the runner's TEST_* service bindings, the provider simulator at its
 * address (the runner's outbound fetches go to it).
 */

export const customer = (): Identity => ({ id: newId("usr"), role: "customer" });
export const admin = (): Identity => ({ id: newId("usr"), role: "admin" });

export interface OrderBody {
  id: string;
  userId: string;
  status: "pending" | "confirmed" | "shipped" | "cancelled";
  reason?: string;
  items: { productId: string; quantity: number; unitPriceCents: number }[];
  totalCents: number;
  currency: string;
  trackingNumber?: string;
  createdAt: string;
  saga: SagaView;
}

export interface OrderPage {
  items: OrderBody[];
  nextCursor: string | null;
}

export interface Product {
  id: string;
  name: string;
  priceCents: number;
  currency: string;
  available: number;
}

export const SIM = "http://127.0.0.1:8788";
export const ENDED = ["completed", "cancelled", "compensation_failed"];

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One request to the orders HTTP app, as the gateway forwards it. */
export function call(path: string, options: CallOptions = {}): Promise<Response> {
  return exports.default.fetch(serviceRequest("orders", path, options, { rawBodyIsJson: true }));
}

export const freshKey = () => `key-${crypto.randomUUID()}`;

export type Line = { productId: string; quantity: number };

/** POST /api/orders with a fresh Idempotency-Key unless one is given. */
export function postOrder(as: Identity, items: Line[], key: string = freshKey()): Promise<Response> {
  return call("/api/orders", { as, body: { items }, headers: { "idempotency-key": key } });
}

/** Places an order and expects it accepted (201 or 202); returns the status, the order and the headers. */
export async function placeOrder(
  as: Identity,
  items: Line[],
  key: string = freshKey(),
): Promise<{ status: number; order: OrderBody; headers: Headers }> {
  const response = await postOrder(as, items, key);
  const text = await response.text();
  expect([201, 202], text).toContain(response.status);
  return { status: response.status, order: JSON.parse(text) as OrderBody, headers: response.headers };
}

export async function getOrder(orderId: string, as: Identity = admin()): Promise<OrderBody> {
  const response = await call(`/api/orders/${orderId}`, { as });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return JSON.parse(text) as OrderBody;
}

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  { timeoutMs = 15_000, intervalMs = 25 } = {},
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** The order once its saga is at rest (completed, cancelled or compensation_failed), as GET shows it. */
export function orderAtRest(orderId: string, timeoutMs = 15_000): Promise<OrderBody> {
  return eventually(
    `order ${orderId} at rest`,
    async () => {
      const order = await getOrder(orderId);
      return ENDED.includes(order.saga.state) && order.status !== "pending" ? order : undefined;
    },
    { timeoutMs },
  );
}

/** The OrderSaga object of an order. */
export const sagaStub = (orderId: string) => env.ORDER_SAGA.getByName(orderId);

/** The saga's stored state, read inside the object. */
export function storedSaga(orderId: string): Promise<SagaMachineState | undefined> {
  return runInDurableObject(sagaStub(orderId), (_instance, state) => {
    const row = state.storage.sql.exec<{ state: string }>("SELECT state FROM saga WHERE id = 1").toArray()[0];
    return row ? (JSON.parse(row.state) as SagaMachineState) : undefined;
  });
}

export const stepOf = (order: OrderBody, name: string) => {
  const step = order.saga.steps.find((s) => s.name === name);
  expect(step, `step ${name} in ${JSON.stringify(order.saga.steps.map((s) => s.name))}`).toBeDefined();
  return step as SagaView["steps"][number];
};

/** Each step as `name:status`, in order: easy to compare whole. */
export const stepTrail = (order: { saga: SagaView }) => order.saga.steps.map((s) => `${s.name}:${s.status}`);

// ---------------------------------------------------------------------------------------------
// Catalog

export async function createProduct(
  fields: { priceCents?: number; currency?: string; stock?: number } = {},
): Promise<Product> {
  const input = { name: `Product ${crypto.randomUUID()}`, priceCents: 1250, currency: "EUR", stock: 10, ...fields };
  const seller = admin();
  const response = await env.TEST_CATALOG.fetch(
    new Request("https://catalog/api/products", {
      method: "POST",
      headers: { "content-type": "application/json", "x-shop-user-id": seller.id, "x-shop-user-role": "admin" },
      body: JSON.stringify(input),
    }),
  );
  const text = await response.text();
  expect(response.status, text).toBe(201);
  return JSON.parse(text) as Product;
}

export async function stockOf(productId: string) {
  const result = await env.TEST_CATALOG.stock(productId);
  const levels = result.ok ? result.value : null;
  expect(levels, `stock of ${productId}: ${JSON.stringify(result)}`).not.toBeNull();
  const { available, reserved, sold, stocked } = levels as NonNullable<typeof levels>;
  return { available, reserved, sold, stocked };
}

// ---------------------------------------------------------------------------------------------
// Payments and the provider

export async function paymentOf(orderId: string) {
  const result = await env.TEST_PAYMENTS.payment(orderId);
  expect(result, `payment of ${orderId}`).toMatchObject({ ok: true });
  return result.ok ? result.value : null;
}

/** The payments ledger of an order as `operation:outcome`, in order. */
export async function ledgerOf(orderId: string): Promise<string[]> {
  const result = await env.TEST_PAYMENTS.attempts(orderId);
  expect(result, `attempts of ${orderId}`).toMatchObject({ ok: true });
  return (result.ok ? result.value : []).map((a) => `${a.operation}:${a.outcome}`);
}

export interface SimAuthorization {
  id: string;
  reference: string;
  status: string;
  amountCents: number;
  currency: string;
  history: { action: string; endpoint: string; at: string }[];
}

/** What the provider holds for an order (its reference), through the never-faulted admin API. */
export async function simAuthorization(orderId: string): Promise<SimAuthorization | undefined> {
  const response = await fetch(`${SIM}/admin/authorizations?reference=${orderId}`);
  expect(response.status).toBe(200);
  const { items } = (await response.json()) as { items: SimAuthorization[] };
  return items[0];
}

export async function setFaults(faults: Faults): Promise<void> {
  const response = await fetch(`${SIM}/admin/faults`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(faults),
  });
  expect(response.status, await response.clone().text()).toBe(200);
  await response.body?.cancel();
}

/** Faults of the saga's own calls to catalog and payments (shop-orders' setFaults RPC). */
export async function setRpcFaults(faults: RpcFaults): Promise<void> {
  const result = await exports.default.setFaults(faults);
  expect(result.ok, JSON.stringify(result)).toBe(true);
}

export async function clearFaults(): Promise<void> {
  const response = await fetch(`${SIM}/admin/faults`, { method: "DELETE" });
  expect(response.status).toBe(200);
  await response.body?.cancel();
  await setRpcFaults({ catalog: {}, payments: {} });
}

/** The breakers the saga and payments go through. */
export const BREAKERS = ["catalog", "payments", "psp:a", "psp:b"];

/**
 * Brings every breaker back to closed with no failures counted, as a recovered dependency would:
 * an open one is probed (once its open time is up) and the probe recorded as a success. Then waits
 * out the callers' cached refusals. Test hygiene: each test starts with the dependencies healthy.
 */
export async function settleBreakers(): Promise<void> {
  let forced = false;
  for (const name of BREAKERS) {
    const breaker = env.CIRCUIT_BREAKER.getByName(name);
    for (let i = 0; ; i++) {
      if (i > 100) throw new Error(`breaker ${name} does not close`);
      const snapshot = await breaker.snapshot();
      if (snapshot.state === "closed") {
        if (snapshot.failures > 0) await breaker.record("success");
        break;
      }
      forced = true;
      const admission = await breaker.acquire();
      if (admission.allowed && admission.probe) await breaker.record("success", admission.probe);
      else await sleep(Math.min(admission.retryInMs ?? 50, 600));
    }
  }
  // Callers remember a refusal for up to the open time (500 ms here).
  if (forced) await sleep(600);
}

// ---------------------------------------------------------------------------------------------
// Problems and rows

export type OrdersTable = "orders" | "order_items" | "idempotency_keys" | "sagas";

export async function countRows(table: OrdersTable): Promise<number> {
  const row = await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table}`).first<{ n: number }>();
  return row?.n ?? 0;
}

export async function rowCounts(): Promise<Record<OrdersTable, number>> {
  return {
    orders: await countRows("orders"),
    order_items: await countRows("order_items"),
    idempotency_keys: await countRows("idempotency_keys"),
    sagas: await countRows("sagas"),
  };
}

export async function ordersOfUser(userId: string): Promise<string[]> {
  const { results } = await env.DB.prepare("SELECT id FROM orders WHERE user_id = ?")
    .bind(userId)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

/**
 * A pending order whose saga never started, written with the repository exactly as POST
 * /api/orders writes it (order, lines, saga row, idempotency record in one batch), `ageMs` old.
 */
export async function insertPendingOrder(
  userId: string,
  product: Product,
  quantity: number,
  ageMs = 0,
  idempotency: { key: string; fingerprint: string } = { key: freshKey(), fingerprint: "inserted-by-test" },
): Promise<string> {
  const createdAt = new Date(Date.now() - ageMs);
  const orderId = newId("ord", createdAt.getTime());
  const won = await new OrdersRepository(env.DB, testOutbox()).insertOrder(
    {
      id: orderId,
      userId,
      items: [{ productId: product.id, quantity, unitPriceCents: product.priceCents }],
      totalCents: quantity * product.priceCents,
      currency: product.currency,
      createdAt: createdAt.toISOString(),
      traceparent: null,
    },
    { ...idempotency, now: Math.floor(createdAt.getTime() / 1000) },
  );
  expect(won).toBe(true);
  return orderId;
}

/** An outbox for repositories used directly; flush it to send what it staged. */
export function testOutbox(): Outbox {
  return new Outbox(env, "shop-orders", { traceparent: null, actor: { type: "system", id: "test" } });
}
