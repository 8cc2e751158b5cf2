import { z } from "zod";
import { ListQuerySchema } from "../../../shared/src/contracts/common";
import {
  OrderIdSchema,
  OrderPageSchema,
  OrderSchema,
  PlaceOrderSchema,
  SagaPageSchema,
  SagaStateSchema,
  SagaViewSchema,
  ShipOrderSchema,
} from "../../../shared/src/contracts/orders";
import type { ProxyRoute } from "./table";

const orders = (env: Env) => env.ORDERS;
const OrderParams = z.object({ id: OrderIdSchema });

/** Public routes served by shop-orders. Owners see their orders; admins see all. */
export const ORDER_ROUTES: ProxyRoute[] = [
  {
    method: "post",
    path: "/api/orders",
    summary: "Place an order (201 when its saga ended within 3 s, else 202; Location names it)",
    tag: "orders",
    access: "user",
    service: orders,
    headers: z.object({
      "idempotency-key": z.string().min(1).max(300).meta({
        description:
          'Required. A quoted string ("...") or a bare token of 1..255 visible ASCII characters; kept 24 h per user.',
      }),
    }),
    body: PlaceOrderSchema,
    success: { status: 201, description: "The order with its saga (202 if it is still running)", schema: OrderSchema },
    errors: [409, 422],
  },
  {
    method: "get",
    path: "/api/orders",
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
    summary: "Retry the failed compensations of a saga in compensation_failed (idempotent: a repeat is accepted)",
    tag: "admin",
    access: "admin",
    service: orders,
    params: OrderParams,
    success: { status: 202, description: "The saga, compensating again", schema: SagaViewSchema },
    errors: [404, 409],
  },
];
