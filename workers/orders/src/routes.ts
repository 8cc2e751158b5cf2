import * as z from "zod";
import { type OutboxVariables, withOutbox } from "#queues/middleware";
import { alarmWaker } from "#shared/alarm-wake";
import type { CatalogRpc } from "#shared/contracts/catalog";
import { actorOf, pagedQuerySchema } from "#shared/contracts/common";
import { OrderIdSchema, PlaceOrderSchema, SagaStateSchema, ShipOrderSchema } from "#shared/contracts/orders";
import { requireAdmin, requireIdentity, serviceApp } from "#shared/http";
import { ProblemException } from "#shared/problem";
import { unwrap } from "#shared/result";
import { span } from "#shared/span";
import { formatTraceparent } from "#shared/trace";
import { parseOrThrow, readBody } from "#shared/validation";
import { ordersConfig } from "./config";
import { parseIdempotencyKey } from "./idempotency";
import { cancelOrder, orderFor, shipOrder, visibleOrder } from "./orders";
import { placeOrder } from "./place-order";
import { OrdersRepository } from "./repository";
import type { Canceller } from "./saga/machine";

/** The sweep's alarm is asked for at most once per sweep period per isolate. */
const wakeSweeper = alarmWaker();

type OrdersApp = { Bindings: Env; Variables: OutboxVariables };

/** The request's repository: its writes raise their events through the request's outbox. */
const repository = (c: { env: Env; var: OutboxVariables }) => new OrdersRepository(c.env.DB, c.var.outbox);

const orderIdParam = (id: string) => parseOrThrow(OrderIdSchema, id, "order id");

/** Orders and sagas are both paged by (a time, an order id). */
const PagedQuerySchema = pagedQuerySchema(z.tuple([z.string(), OrderIdSchema]));

function listQuery(query: Record<string, string>) {
  return parseOrThrow(PagedQuerySchema, query, "query");
}

/** The HTTP app of shop-orders, reached only by the gateway over the service binding. */
export const app = serviceApp<OrdersApp>("shop-orders", { use: [withOutbox("shop-orders")] })
  .post("/api/orders", async (c) => {
    const identity = requireIdentity(c);
    const key = parseIdempotencyKey(c.req.header("idempotency-key"));
    if (!key.ok) throw new ProblemException("bad_request", { detail: key.detail });
    const input = await readBody(c.req.raw, PlaceOrderSchema);
    c.executionCtx.waitUntil(wakeSweeper("sweeper", () => c.env.SWEEPER.getByName("sweeper").ensureScheduled()));
    const log = c.get("log");
    const trace = c.get("trace");
    // Calls out of this request are spans of it: the catalog's quote, and the saga object's start
    // (whose plan carries that span, so every step of the saga is its descendant) and wait.
    const call = <T>(name: string, fn: (traceparent: string) => Promise<T>, fields?: Record<string, unknown>) =>
      span({ service: "shop-orders", name, parent: trace, fields }, (t) => fn(formatTraceparent(t)));
    const result = unwrap(
      await placeOrder(
        {
          repo: repository(c),
          catalog: {
            quote: (ids) => {
              const catalog: Pick<CatalogRpc, "quote"> = c.env.CATALOG;
              return call("rpc catalog.quote", () => catalog.quote(ids));
            },
          },
          traceparent: formatTraceparent(trace),
          actor: actorOf(identity),
          // Starts the saga and waits a little for it, in one call.
          saga: {
            start: (plan, waitMs) =>
              call(
                "do OrderSaga.start",
                (traceparent) => c.env.ORDER_SAGA.getByName(plan.orderId).start({ ...plan, traceparent }, waitMs),
                { orderId: plan.orderId },
              ),
          },
          waitMs: ordersConfig(c.env).ORDER_WAIT_MS,
          log: (message, fields) => log.warn(message, fields),
        },
        identity,
        key.key,
        input,
      ),
    );
    if (result.replayed) c.header("idempotent-replayed", "true");
    c.header("location", `/api/orders/${result.order.id}`);
    return c.json(orderFor(identity, result.order), result.status);
  })
  .get("/api/orders", async (c) => {
    const identity = requireIdentity(c);
    const { limit, cursor } = listQuery(c.req.query());
    const page = await repository(c).listOrders({
      userId: identity.role === "admin" ? undefined : identity.userId,
      limit,
      cursor,
    });
    return c.json({ ...page, items: page.items.map((order) => orderFor(identity, order)) });
  })
  .get("/api/orders/:id", async (c) => {
    const identity = requireIdentity(c);
    return c.json(unwrap(await visibleOrder(repository(c), identity, orderIdParam(c.req.param("id")))));
  })
  .post("/api/orders/:id/cancel", async (c) => {
    const identity = requireIdentity(c);
    const orderId = orderIdParam(c.req.param("id"));
    const repo = repository(c);
    const saga = c.env.ORDER_SAGA.getByName(orderId);
    const handle = {
      // A saga not started yet needs its plan to leave a tombstone.
      cancel: async (by: Canceller) => saga.cancel(by, await repo.sagaPlan(orderId)),
      refund: (by: Canceller) => saga.refund(by),
    };
    unwrap(await cancelOrder(repo, handle, identity, orderId));
    await saga.awaitEnd(ordersConfig(c.env).ORDER_WAIT_MS);
    return c.json(unwrap(await visibleOrder(repo, identity, orderId)));
  })
  .post("/api/orders/:id/ship", async (c) => {
    requireAdmin(c);
    const orderId = orderIdParam(c.req.param("id"));
    const input = await readBody(c.req.raw, ShipOrderSchema);
    return c.json(unwrap(await shipOrder(repository(c), orderId, input.trackingNumber)));
  })
  .post("/api/admin/sagas/:id/retry", async (c) => {
    requireAdmin(c);
    const orderId = orderIdParam(c.req.param("id"));
    if (!(await repository(c).orderStatus(orderId)))
      throw new ProblemException("not_found", { detail: "No such order." });
    const { reply, saga } = await c.env.ORDER_SAGA.getByName(orderId).retry();
    if (!reply.accepted) {
      throw new ProblemException("conflict", {
        detail: `Only a saga in compensation_failed can be retried; this one is ${reply.refused}.`,
      });
    }
    c.get("log").warn("saga retry", { orderId });
    return c.json(saga, 202);
  })
  .get("/api/admin/sagas", async (c) => {
    requireAdmin(c);
    const { limit, cursor } = listQuery(c.req.query());
    const state = c.req.query("state");
    const parsedState = state === undefined ? undefined : parseOrThrow(SagaStateSchema, state, "state filter");
    return c.json(await repository(c).listSagas({ state: parsedState, limit, cursor }));
  });
