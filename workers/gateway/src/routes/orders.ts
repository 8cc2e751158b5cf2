import * as z from "zod";
import { ListQuerySchema } from "#shared/contracts/common";
import {
  IdempotencyKeySchema,
  OrderIdSchema,
  OrderPageSchema,
  OrderSchema,
  PlaceOrderSchema,
  SagaPageSchema,
  SagaStateSchema,
  SagaViewSchema,
  ShipOrderSchema,
} from "#shared/contracts/orders";
import { IDEMPOTENT_REPLAYED, LOCATION } from "./responses";
import type { ProxyRoute } from "./table";

const orders = (env: Env) => env.ORDERS;
const OrderParams = z.object({ id: OrderIdSchema });
const ORDER_HEADERS = { Location: LOCATION, "Idempotent-Replayed": IDEMPOTENT_REPLAYED };

/** Public routes served by shop-orders. Owners see their orders; admins see all. */
export const ORDER_ROUTES: ProxyRoute[] = [
  {
    method: "post",
    path: "/api/orders",
    operationId: "placeOrder",
    summary: "Place an order (201 when its saga ended within 3 s, else 202; Location names it)",
    tag: "orders",
    access: "user",
    service: orders,
    headers: z.object({
      "idempotency-key": IdempotencyKeySchema,
    }),
    body: PlaceOrderSchema,
    success: {
      status: 201,
      description: "The order, its saga at rest (confirmed or cancelled)",
      schema: OrderSchema,
      headers: ORDER_HEADERS,
    },
    alsoSuccess: [
      {
        status: 202,
        description: "The order, its saga still running after 3 s: follow Location",
        schema: OrderSchema,
        headers: ORDER_HEADERS,
      },
    ],
    errors: [409, 422],
    errorDescriptions: {
      409: "The first request with this Idempotency-Key is still being worked on: retry later",
      422: "This Idempotency-Key was used with another body, or the order cannot be priced (unknown product, several currencies, total over the cap)",
    },
  },
  {
    method: "get",
    path: "/api/orders",
    operationId: "listOrders",
    summary: "Your orders (all orders for admins), newest first",
    tag: "orders",
    access: "user",
    service: orders,
    query: ListQuerySchema,
    success: { status: 200, description: "A page of orders", schema: OrderPageSchema },
  },
  {
    method: "get",
    path: "/api/orders/{id}",
    operationId: "getOrder",
    summary: "One order with its saga history",
    tag: "orders",
    access: "user",
    service: orders,
    params: OrderParams,
    success: { status: 200, description: "The order", schema: OrderSchema },
    errors: [404],
  },
  {
    method: "post",
    path: "/api/orders/{id}/cancel",
    operationId: "cancelOrder",
    summary: "Cancel: a pending order is compensated, a confirmed one refunded; shipped or cancelled is 409",
    tag: "orders",
    access: "user",
    service: orders,
    params: OrderParams,
    success: { status: 200, description: "The order", schema: OrderSchema },
    errors: [404, 409],
  },
  {
    method: "post",
    path: "/api/orders/{id}/ship",
    operationId: "shipOrder",
    summary: "Ship a confirmed order whose saga completed",
    tag: "orders",
    access: "admin",
    service: orders,
    params: OrderParams,
    body: ShipOrderSchema,
    success: { status: 200, description: "The shipped order", schema: OrderSchema },
    errors: [404, 409],
  },
  {
    method: "get",
    path: "/api/admin/sagas",
    operationId: "listSagas",
    summary: "Sagas by state, most recently changed first",
    tag: "admin",
    access: "admin",
    service: orders,
    query: ListQuerySchema.extend({ state: SagaStateSchema.optional() }),
    success: { status: 200, description: "A page of sagas", schema: SagaPageSchema },
  },
  {
    method: "post",
    path: "/api/admin/sagas/{id}/retry",
    operationId: "retrySaga",
    summary: "Retry the failed compensations of a saga in compensation_failed (idempotent: a repeat is accepted)",
    tag: "admin",
    access: "admin",
    service: orders,
    params: OrderParams,
    success: { status: 202, description: "The saga, compensating again", schema: SagaViewSchema },
    errors: [404, 409],
  },
];
