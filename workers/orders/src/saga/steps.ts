/**
 * The order saga's step table (SPEC.md section 4): every step, what performs it (its `call`, and
 * whether through its dependency's breaker), and how its failures are handled. The machine in
 * `machine.ts` reads the flow columns to decide what runs next; the Durable Object in
 * `order-saga.ts` runs a step by calling its `call`. Adding or changing a step touches this table.
 *
 *   forward:      reserve_stock -> authorize_payment -> [pivot] confirm_order -> commit_stock -> capture_payment
 *   compensation: void_payment, release_stock, cancel_order, side by side   (before the pivot only)
 *   refund:       refund_payment -> return_stock                          (a completed order, cancelled later)
 */
import type { CatalogRpc } from "#shared/contracts/catalog";
import type { Actor, CallContext } from "#shared/contracts/common";
import type { CancelReason } from "#shared/contracts/orders";
import type { PaymentsRpc } from "#shared/contracts/payments";
import type { Result } from "#shared/result";

/** Everything the saga needs to run an order, fixed when the order is placed. */
export interface SagaPlan {
  orderId: string;
  userId: string;
  lines: { productId: string; quantity: number }[];
  amountCents: number;
  currency: string;
  /** The W3C trace context of the request that placed the order: every call and event carries it. */
  traceparent?: string | null;
  /**
   * Who placed the order (the verified identity): the saga's calls and events carry it. A plan
   * stored before actors existed, or rebuilt by the sweep, is the order's user.
   */
  actor?: Actor;
}

/** What a step's call can reach: the two remote services, and the saga's own order writes. */
export interface StepPorts {
  catalog: Pick<CatalogRpc, "reserve" | "commit" | "release" | "returnToStock">;
  payments: Pick<PaymentsRpc, "authorize" | "capture" | "void" | "refund">;
  /** Writes the order's status in orders-db (confirm_order, cancel_order); see order-saga.ts. */
  orders: {
    confirm(orderId: string): Promise<Result<unknown>>;
    cancel(orderId: string, reason: CancelReason): Promise<Result<unknown>>;
  };
}

/** One attempt of a step: its command's `reason` is set for cancel_order only. */
export type StepCall = (
  ports: StepPorts,
  plan: SagaPlan,
  context: CallContext,
  reason: CancelReason | undefined,
) => Promise<Result<unknown>>;

export type ForwardStepName =
  | "reserve_stock"
  | "authorize_payment"
  | "confirm_order"
  | "commit_stock"
  | "capture_payment";
export type CompensationStepName = "void_payment" | "release_stock" | "cancel_order";
export type RefundStepName = "refund_payment" | "return_stock";
export type StepName = ForwardStepName | CompensationStepName | RefundStepName;

/** Which sequence a step belongs to. */
export type Flow = "forward" | "compensation" | "refund";

/**
 * Who performs a step. `catalog` and `payments` are RPC calls made through that dependency's
 * CircuitBreaker (its name is the breaker's name); `orders` is the saga's own service writing the
 * order's status (and its outbox row) to orders-db, with no breaker.
 */
export type Target = "catalog" | "payments" | "orders";

interface BaseSpec {
  flow: Flow;
  target: Target;
  /** Performs one attempt of the step (idempotent by order id, as every attempt may be repeated). */
  call: StepCall;
  /** Whether the call goes through the target's CircuitBreaker (so its answer has a BreakerTrace). */
  breaker: boolean;
}

/**
 * Before the pivot a step retries transient failures until the saga's deadline, and a failure for
 * good compensates with one of its reasons; after the pivot a step retries every failure until it
 * succeeds.
 */
export interface BeforePivotSpec extends BaseSpec {
  flow: "forward";
  beforePivot: true;
  /** The step that undoes this one. */
  compensation: CompensationStepName;
  /** The order's reason when the step fails: a business answer, or transient past the deadline. */
  reasons: { business: CancelReason; deadline: CancelReason };
}

export interface AfterPivotSpec extends BaseSpec {
  flow: "forward";
  beforePivot: false;
}

export type ForwardSpec = BeforePivotSpec | AfterPivotSpec;

export interface CompensationSpec extends BaseSpec {
  flow: "compensation";
  /** The forward step this one undoes (none for cancel_order, which ends every compensation). */
  compensates?: ForwardStepName;
}

export interface RefundSpec extends BaseSpec {
  flow: "refund";
}

export type StepSpec = ForwardSpec | CompensationSpec | RefundSpec;

export const STEPS = {
  reserve_stock: {
    flow: "forward",
    target: "catalog",
    call: (p, plan, ctx) => p.catalog.reserve(plan.orderId, plan.lines, ctx),
    breaker: true,
    beforePivot: true,
    compensation: "release_stock",
    // No reason in SPEC's list says "the catalog was unreachable". `payment_unavailable` would be
    // false (no payment was tried); `out_of_stock` is the step's own reason and true from the
    // customer's side: the stock could not be secured. The step's error names the real cause.
    reasons: { business: "out_of_stock", deadline: "out_of_stock" },
  },
  authorize_payment: {
    flow: "forward",
    target: "payments",
    call: (p, plan, ctx) =>
      p.payments.authorize({ orderId: plan.orderId, amountCents: plan.amountCents, currency: plan.currency }, ctx),
    breaker: true,
    beforePivot: true,
    compensation: "void_payment",
    reasons: { business: "payment_declined", deadline: "payment_unavailable" },
  },
  // The pivot. The machine takes it the moment it issues this step (atomically in the object's
  // storage), so a cancellation is either before it (compensate) or after it (refused); the call
  // then only records `confirmed` in orders-db, and retries until it does. Any failure after the
  // pivot is retried forever, so the write answers ok when the order is no longer pending (already
  // confirmed, or already cancelled by a refund that overtook it): only real errors fail.
  confirm_order: {
    flow: "forward",
    target: "orders",
    call: (p, plan) => p.orders.confirm(plan.orderId),
    breaker: false,
    beforePivot: false,
  },
  commit_stock: {
    flow: "forward",
    target: "catalog",
    call: (p, plan, ctx) => p.catalog.commit(plan.orderId, ctx),
    breaker: true,
    beforePivot: false,
  },
  capture_payment: {
    flow: "forward",
    target: "payments",
    call: (p, plan, ctx) => p.payments.capture(plan.orderId, ctx),
    breaker: true,
    beforePivot: false,
  },
  void_payment: {
    flow: "compensation",
    target: "payments",
    call: (p, plan, ctx) => p.payments.void(plan.orderId, ctx),
    breaker: true,
    compensates: "authorize_payment",
  },
  release_stock: {
    flow: "compensation",
    target: "catalog",
    call: (p, plan, ctx) => p.catalog.release(plan.orderId, ctx),
    breaker: true,
    compensates: "reserve_stock",
  },
  // Writes `cancelled` with the command's `reason`; answers ok when the order is already cancelled.
  cancel_order: {
    flow: "compensation",
    target: "orders",
    call: (p, plan, _ctx, reason) => p.orders.cancel(plan.orderId, reason ?? "cancelled_by_admin"),
    breaker: false,
  },
  refund_payment: {
    flow: "refund",
    target: "payments",
    call: (p, plan, ctx) => p.payments.refund(plan.orderId, ctx),
    breaker: true,
  },
  return_stock: {
    flow: "refund",
    target: "catalog",
    call: (p, plan, ctx) => p.catalog.returnToStock(plan.orderId, ctx),
    breaker: true,
  },
} as const satisfies Record<ForwardStepName, ForwardSpec> &
  Record<CompensationStepName, CompensationSpec> &
  Record<RefundStepName, RefundSpec>;

export function specOf(step: StepName): StepSpec {
  return STEPS[step];
}

/** The forward steps in order. */
export const FORWARD_STEPS: readonly ForwardStepName[] = [
  "reserve_stock",
  "authorize_payment",
  "confirm_order",
  "commit_stock",
  "capture_payment",
];

/** Issuing this step is the point of no return. */
export const PIVOT_STEP: ForwardStepName = "confirm_order";

/** The refund of a confirmed order, in order. */
export const REFUND_STEPS: readonly RefundStepName[] = ["refund_payment", "return_stock"];

/** Every compensation ends by cancelling the order with its reason. */
export const FINAL_COMPENSATION: CompensationStepName = "cancel_order";
