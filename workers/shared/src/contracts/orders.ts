import * as z from "zod";
import { CentsSchema, OrderIdSchema, ProductIdSchema, pageOf } from "./common";

export { OrderIdSchema };

export const OrderStatusSchema = z.enum(["pending", "confirmed", "shipped", "cancelled"]);
export type OrderStatus = z.infer<typeof OrderStatusSchema>;

export const CancelReasonSchema = z.enum([
  "out_of_stock",
  "payment_declined",
  "payment_unavailable",
  "cancelled_by_customer",
  "cancelled_by_admin",
]);
export type CancelReason = z.infer<typeof CancelReasonSchema>;

export const SagaStateSchema = z.enum(["running", "compensating", "completed", "cancelled", "compensation_failed"]);
export type SagaState = z.infer<typeof SagaStateSchema>;

/** What clients may send: prices and totals are never taken from them. */
export const PlaceOrderSchema = z
  .strictObject({
    items: z
      .array(z.strictObject({ productId: ProductIdSchema, quantity: z.number().int().min(1).max(100) }))
      .min(1, { error: "An order needs at least one line." })
      .max(50, { error: "An order has at most 50 lines." })
      .refine((items) => new Set(items.map((i) => i.productId)).size === items.length, {
        error: "Each product appears once; put the whole quantity on one line.",
      }),
  })
  .meta({ id: "PlaceOrder", examples: [{ items: [{ productId: "prd_01m6b5kx00seed000000000005", quantity: 2 }] }] });
export type PlaceOrder = z.infer<typeof PlaceOrderSchema>;

/**
 * The Idempotency-Key header exactly as shop-orders parses it (workers/orders/src/idempotency.ts):
 * an sf-string of 1..255 characters (printable ASCII, `\"` and `\\` escaped) or a bare token of
 * 1..255 visible ASCII characters that does not start with a quote.
 */
export const IDEMPOTENCY_KEY_PATTERN =
  '^(?:"(?:[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]|\\\\["\\\\]){1,255}"|[\\x21\\x23-\\x7e][\\x21-\\x7e]{0,254})$';
export const IdempotencyKeySchema = z
  .string()
  .regex(new RegExp(IDEMPOTENCY_KEY_PATTERN), {
    error: 'Idempotency-Key must be a quoted string ("...") or a bare token of 1..255 visible ASCII characters.',
  })
  .meta({
    description: "Required. Kept 24 h per user: the same key and body get the stored answer (Idempotent-Replayed).",
    examples: ['"my-first-order"', "0f8fad5b-d9cb-469f-a165-70867728950e"],
  });

export const ShipOrderSchema = z
  .strictObject({ trackingNumber: z.string().trim().min(1).max(64).optional() })
  .meta({ id: "ShipOrder", examples: [{ trackingNumber: "1Z999AA10123456784" }, {}] });

/** One attempt of a saga step, with the breaker's answer (null for local steps and lost answers). */
export const SagaAttemptSchema = z
  .object({
    attempt: z.number().int().min(1),
    startedAt: z.string(),
    endedAt: z.string().nullable(),
    breaker: z.enum(["closed", "open", "half_open"]).nullable(),
    /** Whether the call went out (false: the breaker refused it). */
    called: z.boolean().nullable(),
    outcome: z.enum(["in_flight", "succeeded", "failed", "no_result"]),
    /** `code` for customers; `code: detail` for admins. */
    error: z.string().optional(),
  })
  .meta({ id: "SagaAttempt" });

export const SagaStepSchema = z
  .object({
    name: z.string(),
    status: z.enum(["pending", "running", "succeeded", "failed", "compensated", "skipped"]),
    attempts: z.number().int(),
    startedAt: z.string().nullable(),
    endedAt: z.string().nullable(),
    /** `code` for customers; `code: detail` for admins. */
    error: z.string().optional(),
    /** The latest attempts (at most 20); `attempts` counts them all. */
    history: z.array(SagaAttemptSchema),
  })
  .meta({ id: "SagaStep" });

export const SagaViewSchema = z
  .object({ state: SagaStateSchema, reason: CancelReasonSchema.optional(), steps: z.array(SagaStepSchema) })
  .meta({ id: "Saga" });
export type SagaView = z.infer<typeof SagaViewSchema>;

export const OrderSchema = z
  .object({
    id: z.string(),
    userId: z.string(),
    status: OrderStatusSchema,
    reason: CancelReasonSchema.optional(),
    items: z.array(z.object({ productId: z.string(), quantity: z.number().int(), unitPriceCents: z.number().int() })),
    totalCents: CentsSchema,
    currency: z.string(),
    trackingNumber: z.string().optional(),
    createdAt: z.string(),
    saga: SagaViewSchema,
  })
  .meta({ id: "Order" });
export type Order = z.infer<typeof OrderSchema>;

export const OrderPageSchema = pageOf(OrderSchema).meta({ id: "OrderPage" });

export const SagaSummarySchema = z
  .object({ orderId: z.string(), state: SagaStateSchema, status: OrderStatusSchema, updatedAt: z.string() })
  .meta({ id: "SagaSummary" });
export const SagaPageSchema = pageOf(SagaSummarySchema).meta({ id: "SagaPage" });
