import type { Order } from "#shared/contracts/orders";
import type { Identity } from "#shared/identity";
import { fail, ok, type Result } from "#shared/result";
import type { OrdersRepository } from "./repository";
import { type Canceller, customerSagaView } from "./saga/machine";

/** Order reads, cancellation and shipping. No HTTP here: results are values. */

/** An order as `identity` may see it: admins see every step's details, customers the codes only. */
export function orderFor(identity: Identity, order: Order): Order {
  return identity.role === "admin" ? order : { ...order, saga: customerSagaView(order.saga) };
}

/** Owners and admins see an order; anyone else is told it does not exist. */
export async function visibleOrder(
  repo: OrdersRepository,
  identity: Identity,
  orderId: string,
): Promise<Result<Order>> {
  const order = await repo.findOrder(orderId);
  if (!order || (identity.role !== "admin" && order.userId !== identity.userId)) {
    return fail("not_found", "No such order.");
  }
  return ok(orderFor(identity, order));
}

export interface SagaHandle {
  cancel(by: Canceller): Promise<{ accepted: boolean; refused?: string }>;
  refund(by: Canceller): Promise<{ accepted: boolean; refused?: string }>;
}

/**
 * Pending: the saga stops and compensates (one not started yet is left as a tombstone, so the
 * order is cancelled and the saga never runs). Confirmed and not shipped: the order is cancelled at
 * once (a conditional write, so it cannot race a shipment) and the saga refunds the payment and
 * puts the stock back. Shipped or cancelled: 409.
 */
export async function cancelOrder(
  repo: OrdersRepository,
  saga: SagaHandle,
  identity: Identity,
  orderId: string,
): Promise<Result<null>> {
  const order = await visibleOrder(repo, identity, orderId);
  if (!order.ok) return order;
  const by: Canceller = identity.role === "admin" && order.value.userId !== identity.userId ? "admin" : "customer";
  const reason = by === "admin" ? "cancelled_by_admin" : "cancelled_by_customer";
  if (order.value.status === "pending") {
    const reply = await saga.cancel(by);
    if (reply.accepted) return ok(null);
    if (reply.refused !== "past_pivot") return fail("conflict", `The order is already ${reply.refused}.`);
  }
  if (order.value.status === "pending" || order.value.status === "confirmed") {
    if (!(await repo.cancelConfirmed(orderId, reason, new Date().toISOString()))) {
      return fail(
        "conflict",
        `The order is ${(await repo.orderStatus(orderId)) ?? "gone"}; it cannot be cancelled now.`,
      );
    }
    const reply = await saga.refund(by);
    if (!reply.accepted) return fail("conflict", `The refund was refused (${reply.refused}).`);
    return ok(null);
  }
  const { reason: cancelledFor } = order.value;
  if (cancelledFor === "cancelled_by_customer" || cancelledFor === "cancelled_by_admin") {
    // A cancel after the pivot writes `cancelled` before it asks the saga for the refund; if the
    // asking failed (that caller got a 5xx), the order is cancelled but still charged. Asking again
    // on a retried cancel repairs that, and is harmless otherwise: the saga's refund is idempotent
    // and refuses an order cancelled before its pivot. The answer stays 409.
    await saga.refund(cancelledFor === "cancelled_by_admin" ? "admin" : "customer");
  }
  return fail("conflict", `A ${order.value.status} order cannot be cancelled.`);
}

export function trackingNumber(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return `TRK-${[...bytes]
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("")
    .toUpperCase()}`;
}

/** Confirmed with its saga completed -> shipped; anything else is a 409. */
export async function shipOrder(
  repo: OrdersRepository,
  orderId: string,
  tracking: string | undefined,
): Promise<Result<Order>> {
  const order = await repo.findOrder(orderId);
  if (!order) return fail("not_found", "No such order.");
  if (!(await repo.ship(orderId, tracking ?? trackingNumber(), new Date().toISOString()))) {
    return fail(
      "conflict",
      `Only a confirmed order whose saga completed can ship; this one is ${order.status} (saga ${order.saga.state}).`,
    );
  }
  return ok((await repo.findOrder(orderId)) as Order);
}
