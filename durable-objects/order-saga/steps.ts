/**
 * The order saga's step table (SPEC.md section 4): every step, what performs it, and how its
 * failures are handled. The machine in `saga-machine.ts` reads only this table to decide what runs
 * next; the Durable Object wrapper reads it to know which call a `call` command means.
 *
 *   forward:      reserve_stock -> authorize_payment -> [pivot] confirm_order -> commit_stock -> capture_payment
 *   compensation: (void_payment) -> (release_stock) -> cancel_order       (before the pivot only)
 *   refund:       refund_payment -> return_stock                          (a completed order, cancelled later)
 */

/** The saga's reasons for a cancelled order: exactly the order `reason` values of SPEC.md section 2. */
export type OrderReason =
  | "out_of_stock"
  | "payment_declined"
  | "payment_unavailable"
  | "cancelled_by_customer"
  | "cancelled_by_admin";

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
  /** The method the wrapper calls: `CatalogRpc`/`PaymentsRpc` methods, or the orders repository's. */
  method: string;
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
  reasons: { business: OrderReason; deadline: OrderReason };
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
    method: "reserve",
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
    method: "authorize",
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
  confirm_order: { flow: "forward", target: "orders", method: "confirm", breaker: false, beforePivot: false },
  commit_stock: { flow: "forward", target: "catalog", method: "commit", breaker: true, beforePivot: false },
  capture_payment: { flow: "forward", target: "payments", method: "capture", breaker: true, beforePivot: false },
  void_payment: {
    flow: "compensation",
    target: "payments",
    method: "void",
    breaker: true,
    compensates: "authorize_payment",
  },
  release_stock: {
    flow: "compensation",
    target: "catalog",
    method: "release",
    breaker: true,
    compensates: "reserve_stock",
  },
  // Writes `cancelled` with the command's `reason`; answers ok when the order is already cancelled.
  cancel_order: { flow: "compensation", target: "orders", method: "cancel", breaker: false },
  refund_payment: { flow: "refund", target: "payments", method: "refund", breaker: true },
  return_stock: { flow: "refund", target: "catalog", method: "returnToStock", breaker: true },
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
