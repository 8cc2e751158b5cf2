import type { CatalogRpc } from "#shared/contracts/catalog";
import type { Actor } from "#shared/contracts/common";
import { MAX_ORDER_TOTAL_CENTS } from "#shared/contracts/common";
import type { Order, PlaceOrder, SagaView } from "#shared/contracts/orders";
import type { Identity } from "#shared/identity";
import { newId } from "#shared/ids";
import { fail, ok, type Result } from "#shared/result";
import { requestFingerprint } from "./idempotency";
import type { IdempotencyRecord, OrdersRepository } from "./repository";
import type { SagaPlan } from "./saga/steps";

/** What the saga looks like from the orders service: start it and wait a little for it, in one call. */
export interface SagaPort {
  /** Starts the saga (idempotent); its view once it ended, or as it stands after `waitMs`. */
  start(plan: SagaPlan, waitMs: number): Promise<SagaView>;
}

export interface PlaceOrderDeps {
  repo: OrdersRepository;
  catalog: Pick<CatalogRpc, "quote">;
  saga: SagaPort;
  waitMs: number;
  /** The W3C trace context of the request: the order's events and saga calls carry it. */
  traceparent: string | null;
  /** Who places the order (the verified identity): the saga stores it for its calls and events. */
  actor?: Actor;
  now?: () => Date;
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

export interface OrderResponse {
  status: 200 | 201 | 202;
  order: Order;
  replayed: boolean;
}

const ENDED: ReadonlySet<SagaView["state"]> = new Set(["completed", "cancelled", "compensation_failed"]);
/** A first request that stored no response for this long is presumed dead; its order is answered as it stands. */
const ABANDONED_AFTER_SECONDS = 30;

async function replay(
  deps: PlaceOrderDeps,
  identity: Identity,
  key: string,
  fingerprint: string,
  record: IdempotencyRecord,
): Promise<Result<OrderResponse>> {
  if (record.fingerprint !== fingerprint) {
    return fail("unprocessable", "This Idempotency-Key was used with a different request body.");
  }
  if (record.response) {
    return ok({
      status: record.response.status as 201 | 202,
      order: JSON.parse(record.response.body) as Order,
      replayed: true,
    });
  }
  const order = await deps.repo.findOrder(record.orderId);
  const now = Math.floor((deps.now?.() ?? new Date()).getTime() / 1000);
  if (!order || now - record.createdAt < ABANDONED_AFTER_SECONDS) {
    return fail("conflict", "A request with this Idempotency-Key is still being processed; retry shortly.");
  }
  const status = ENDED.has(order.saga.state) ? 201 : 202;
  await deps.repo.storeResponse(identity.userId, key, status, JSON.stringify(order));
  return ok({ status, order, replayed: true });
}

/**
 * POST /api/orders: validate, price from the catalog, store the order pending with its
 * idempotency record and saga row in one batch, start its saga, wait up to `waitMs` for it, and
 * store the response before it is sent. Never refused for stock: the saga cancels what it cannot fill.
 */
export async function placeOrder(
  deps: PlaceOrderDeps,
  identity: Identity,
  key: string,
  input: PlaceOrder,
): Promise<Result<OrderResponse>> {
  const fingerprint = await requestFingerprint("POST", "/api/orders", input);
  const existing = await deps.repo.idempotency(identity.userId, key);
  if (existing) return replay(deps, identity, key, fingerprint, existing);

  const quote = await deps.catalog.quote(input.items.map((i) => i.productId));
  if (!quote.ok) {
    if (quote.code === "not_found") return fail("unprocessable", quote.detail);
    return fail(
      quote.code === "bad_request" || quote.code === "validation_failed" ? "unprocessable" : "unavailable",
      quote.detail,
    );
  }
  const prices = new Map(quote.value.map((p) => [p.id, p]));
  const currencies = new Set(quote.value.map((p) => p.currency));
  if (currencies.size !== 1) return fail("unprocessable", "All items of an order must be priced in one currency.");
  const items = input.items.map((line) => ({
    productId: line.productId,
    quantity: line.quantity,
    unitPriceCents: prices.get(line.productId)?.priceCents ?? 0,
  }));
  if (items.some((i) => !prices.has(i.productId))) return fail("unprocessable", "An item names an unknown product.");
  const totalCents = items.reduce((sum, i) => sum + i.quantity * i.unitPriceCents, 0);
  // The order, its events and its payment share this cap: refuse here, before anything is written.
  if (totalCents > MAX_ORDER_TOTAL_CENTS) {
    return fail(
      "unprocessable",
      `The order total ${totalCents} exceeds the maximum of ${MAX_ORDER_TOTAL_CENTS} minor units; split it into smaller orders.`,
    );
  }
  const [currency] = currencies as unknown as [string];
  const now = deps.now?.() ?? new Date();
  const orderId = newId("ord", now.getTime());

  const won = await deps.repo.insertOrder(
    {
      id: orderId,
      userId: identity.userId,
      items,
      totalCents,
      currency,
      createdAt: now.toISOString(),
      traceparent: deps.traceparent,
    },
    { key, fingerprint, now: Math.floor(now.getTime() / 1000) },
  );
  if (!won) {
    const record = await deps.repo.idempotency(identity.userId, key);
    if (!record) return fail("conflict", "A request with this Idempotency-Key is being processed; retry shortly.");
    return replay(deps, identity, key, fingerprint, record);
  }

  let view: SagaView | undefined;
  try {
    view = await deps.saga.start(
      {
        orderId,
        userId: identity.userId,
        lines: input.items,
        amountCents: totalCents,
        currency,
        traceparent: deps.traceparent,
        ...(deps.actor ? { actor: deps.actor } : {}),
      },
      deps.waitMs,
    );
  } catch (error) {
    // The order is stored; the sweep starts any pending order whose saga did not start.
    deps.log?.("saga start failed; the sweep will start it", { orderId, error: String(error) });
  }
  const order = await deps.repo.findOrder(orderId);
  if (!order) return fail("internal", "The order vanished after it was stored.");
  const status = view && ENDED.has(view.state) ? 201 : 202;
  await deps.repo.storeResponse(identity.userId, key, status, JSON.stringify(order));
  return ok({ status, order, replayed: false });
}
