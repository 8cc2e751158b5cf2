import { env, exports } from "cloudflare:workers";
import { expect, inject } from "vitest";
import { Outbox } from "#queues/outbox";
import { BreakerClient } from "#shared/breaker-client";
import type { Faults, Payment } from "#shared/contracts/payments";
import { newId } from "#shared/ids";
import type { Result } from "#shared/result";
import { Balancer, type Strategy } from "../../workers/payments/src/balancer";
import type { ProviderEndpoint } from "../../workers/payments/src/config";
import type { PaymentsDeps } from "../../workers/payments/src/payments";
import { ProviderClient } from "../../workers/payments/src/provider-client";
import { PaymentsRepository, type StoredAttempt } from "../../workers/payments/src/repository";
import { eventLog } from "../support/event-log";

/**
 * Helpers for the payments tests. The simulator is reached the way shop-payments reaches it, with
 * a plain fetch to its address (Miniflare routes it to the shop-psp-sim Worker).
 */

export const SIM = "http://127.0.0.1:8788";

/** The entrypoint other Workers call over RPC, with its real configuration (endpoints a and b). */
export const payments = exports.default;

export interface SimAuthorization {
  id: string;
  reference: string;
  status: string;
  amountCents: number;
  currency: string;
  endpoint: string;
  history: { action: string; endpoint: string; at: string }[];
}

export const newOrderId = () => newId("ord");

export function simFetch(path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
  const { json, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (json !== undefined) headers.set("content-type", "application/json");
  // The provider API wants the key payments sends; a test that sets its own header keeps it.
  if (!headers.has("authorization")) headers.set("authorization", `Bearer ${env.PSP_API_KEY}`);
  return fetch(`${SIM}${path}`, {
    ...rest,
    headers,
    body: json === undefined ? rest.body : JSON.stringify(json),
  });
}

export async function setFaults(faults: Faults): Promise<void> {
  const response = await simFetch("/admin/faults", { method: "PUT", json: faults });
  expect(response.status, await response.clone().text()).toBe(200);
}

export async function clearFaults(): Promise<void> {
  const response = await simFetch("/admin/faults", { method: "DELETE" });
  expect(response.status, await response.clone().text()).toBe(200);
}

/** What the provider holds for a reference (our order id), through the admin API (never faulted). */
export async function simAuthorization(reference: string): Promise<SimAuthorization | undefined> {
  const response = await simFetch(`/admin/authorizations?reference=${reference}`);
  expect(response.status).toBe(200);
  const { items } = (await response.json()) as { items: SimAuthorization[] };
  return items[0];
}

/** An outbox for the use cases wired by a test (as an RPC call's would be, without a trace); never flushed unless the test does. */
export function testOutbox(): Outbox {
  return new Outbox(env, "shop-payments", { traceparent: null, actor: { type: "system", id: "test" } });
}

export function ledger(orderId: string): Promise<StoredAttempt[]> {
  return new PaymentsRepository(env.DB, testOutbox()).attempts(orderId);
}

export async function paymentRows(orderId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM payments WHERE order_id = ?")
    .bind(orderId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/**
 * The payment use cases wired like the Worker wires them (real D1, real breakers, real
 * simulator), but over endpoints of the test's choosing: each such test gets endpoints, and so
 * breakers, that no other test touches.
 */
export function depsFor(
  names: string[],
  options: { strategy?: Strategy; maxAttempts?: number; timeoutMs?: number; outbox?: Outbox; apiKey?: string } = {},
): PaymentsDeps {
  const endpoints: ProviderEndpoint[] = names.map((name) => ({ name, url: `${SIM}/${name}`, weight: 1 }));
  return {
    repo: new PaymentsRepository(env.DB, options.outbox ?? testOutbox()),
    provider: new ProviderClient({
      balancer: new Balancer(options.strategy ?? "round_robin", endpoints),
      breakers: new BreakerClient(() => env.CIRCUIT_BREAKER),
      timeoutMs: options.timeoutMs ?? inject("pspTimeoutMs"),
      maxAttempts: options.maxAttempts ?? 3,
      apiKey: options.apiKey ?? env.PSP_API_KEY,
    }),
  };
}

/** The stored payment of an order as the RPC method reports it (`null` when it has none). */
export async function storedPayment(orderId: string): Promise<Payment | null> {
  return expectOk(await payments.payment(orderId));
}

export function expectOk<T>(result: Result<T>): T {
  if (!result.ok) expect.fail(`expected ok, got ${result.code}: ${result.detail}`);
  return result.value;
}

export function expectFailure<T>(result: Result<T>, code: string): string {
  expect(result.ok, JSON.stringify(result)).toBe(false);
  if (result.ok) throw new Error("unreachable");
  expect(result.code, result.detail).toBe(code);
  return result.detail;
}

/** The endpoint, outcome and breaker answer of each attempt, in order: easy to compare whole. */
export const trail = (attempts: StoredAttempt[]) =>
  attempts.map((a) => `${a.operation}:${a.endpoint}:${a.outcome}${a.breaker === "closed" ? "" : `(${a.breaker})`}`);

/** The log of shop-events and this service's outbox, as the events tests read them. */
export const { loggedEvents, waitForLogged, outboxRows, lastSequence } = eventLog({
  db: env.DB,
  eventsDb: env.EVENTS_DB,
});
export type { LoggedEvent } from "../support/event-log";
