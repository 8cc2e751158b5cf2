import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import { Outbox } from "#queues/outbox";
import { newId } from "#shared/ids";
import { eventLog } from "../support/event-log";
import { type CallOptions, expectProblem, type Identity, type Problem, serviceRequest } from "../support/service-http";

export {
  type CallOptions,
  expectProblem,
  type Identity,
  PROBLEM_CONTENT_TYPE,
  type Problem,
  type Role,
} from "../support/service-http";

/**
 * Helpers for the shop-catalog integration tests. The tests play the gateway (HTTP with the
 * identity headers it sets) and the order saga (RPC on the entrypoint).
 */

export interface Product {
  id: string;
  name: string;
  description: string;
  priceCents: number;
  currency: string;
  available: number;
  createdAt: string;
  reserved?: number;
  sold?: number;
}

export interface ProductPage {
  items: Product[];
  nextCursor: string | null;
}

export const admin = (): Identity => ({ id: newId("usr"), role: "admin" });
export const customer = (): Identity => ({ id: newId("usr"), role: "customer" });

/** A valid product id that no test ever creates. */
export const UNKNOWN_PRODUCT_ID = "prd_00000000000000000000000000";

export const newOrderId = () => newId("ord");

/** One request to the catalog HTTP app, as the gateway forwards it. */
export function call(path: string, options: CallOptions = {}): Promise<Response> {
  return exports.default.fetch(serviceRequest("catalog", path, options));
}

export interface ProductFields {
  name?: string;
  description?: string;
  priceCents?: number;
  currency?: string;
  stock?: number;
}

/** Creates a product over HTTP as an admin and returns it (admin view). */
export async function createProduct(fields: ProductFields = {}): Promise<Product> {
  const input = { name: `Product ${crypto.randomUUID()}`, priceCents: 1000, currency: "EUR", stock: 10, ...fields };
  const response = await call("/api/products", { as: admin(), body: input });
  expect(response.status, await response.clone().text()).toBe(201);
  return (await response.json()) as Product;
}

/** The stock levels as the RPC method reports them (never null for a product a test created). */
export async function stockOf(productId: string) {
  const result = await exports.default.stock(productId);
  const levels = result.ok ? result.value : null;
  expect(levels, `stock of ${productId}: ${JSON.stringify(result)}`).not.toBeNull();
  return levels as NonNullable<typeof levels>;
}

/** Asserts a 400 validation problem whose field errors name `field`. */
export async function expectFieldError(response: Response, field: string): Promise<Problem> {
  const problem = await expectProblem(response, 400, "validation_failed");
  expect(
    (problem.errors ?? []).map((e) => e.path),
    JSON.stringify(problem.errors),
  ).toContain(field);
  return problem;
}

/** Asserts a failed RPC result with this code. */
export function expectFailure(result: { ok: boolean; code?: string; detail?: string }, code: string): void {
  expect(result, JSON.stringify(result)).toMatchObject({ ok: false, code, detail: expect.any(String) });
}

/**
 * SPEC.md section 6, invariant 1, over every product in catalog-db: no counter negative,
 * `available + reserved + sold = stocked`, and the counters agree with the reservation ledger:
 * `reserved` is the sum of the lines of reservations in state `reserved`, `sold` of those
 * `committed`. The last part catches a reservation or transition applied twice.
 */
export async function expectStockInvariants(): Promise<void> {
  const { results } = await env.DB.prepare(
    `SELECT p.id, p.available, p.reserved, p.sold, p.stocked,
            COALESCE(SUM(CASE WHEN r.state = 'reserved' THEN l.quantity END), 0) AS ledger_reserved,
            COALESCE(SUM(CASE WHEN r.state = 'committed' THEN l.quantity END), 0) AS ledger_sold
     FROM products p
     LEFT JOIN reservation_lines l ON l.product_id = p.id
     LEFT JOIN reservations r ON r.order_id = l.order_id
     GROUP BY p.id`,
  ).all<{
    id: string;
    available: number;
    reserved: number;
    sold: number;
    stocked: number;
    ledger_reserved: number;
    ledger_sold: number;
  }>();
  expect(results.length).toBeGreaterThan(0);
  const broken = results.filter(
    (p) =>
      p.available < 0 ||
      p.reserved < 0 ||
      p.sold < 0 ||
      p.available + p.reserved + p.sold !== p.stocked ||
      p.reserved !== p.ledger_reserved ||
      p.sold !== p.ledger_sold,
  );
  expect(broken).toEqual([]);
}

export async function countRows(table: "products" | "reservations" | "reservation_lines"): Promise<number> {
  const row = await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table}`).first<{ n: number }>();
  return row?.n ?? 0;
}

export function reservationRow(orderId: string) {
  return env.DB.prepare("SELECT * FROM reservations WHERE order_id = ?")
    .bind(orderId)
    .first<{ order_id: string; state: string; lines_key: string | null }>();
}

/** An outbox for repositories used directly (as an RPC call's would be, without a trace). */
export function testOutbox(): Outbox {
  return new Outbox(env, "shop-catalog", { traceparent: null, actor: { type: "system", id: "test" } });
}

/** The log of shop-events and this service's outbox, as the events tests read them. */
export const { loggedEvents, waitForLogged, outboxRows, lastSequence } = eventLog({
  db: env.DB,
  eventsDb: env.EVENTS_DB,
});
export type { LoggedEvent } from "../support/event-log";

/** Runs d1/catalog/seed.sql as `npm run dev` does, its comments removed and its lines joined for exec. */
export function runDevSeed(): Promise<D1ExecResult> {
  return env.DB.exec(
    env.TEST_SEED_SQL.replace(/^--.*$/gm, "")
      .replace(/\s+/g, " ")
      .trim(),
  );
}
