import * as z from "zod";
import { decodeCursor } from "../cursor";

/** ISO 4217 code; money is always integer minor units with its currency. */
export const CurrencySchema = z.string().regex(/^[A-Z]{3}$/, { error: "Must be an ISO 4217 code like EUR." });
/**
 * The largest order total in minor units (SPEC.md section 2): one cap for the order, its events and
 * its payment, checked when the order is priced. No single price may exceed it either.
 */
export const MAX_ORDER_TOTAL_CENTS = 100_000_000;
/** An amount of money in minor units: a price, an order's total, a payment. */
export const CentsSchema = z.number().int().min(0).max(MAX_ORDER_TOTAL_CENTS);

const ID_BODY = "[0-9a-hjkmnp-tv-z]{26}";
export const idSchema = (prefix: string) =>
  z.string().regex(new RegExp(`^${prefix}_${ID_BODY}$`), { error: `Not a ${prefix}_ id.` });

export const ProductIdSchema = idSchema("prd");
export const OrderIdSchema = idSchema("ord");

/** `limit` is clamped to 1..100 and defaults to 20 (never refused); `cursor` is opaque. */
export const ListQuerySchema = z.object({
  limit: z
    .string()
    .optional()
    .transform((text) => {
      const n = Number.parseInt(text ?? "", 10);
      return Number.isNaN(n) ? 20 : Math.min(100, Math.max(1, n));
    })
    // Published as the integer it is; the server is kinder than the contract and clamps.
    .meta({
      type: "integer",
      minimum: 1,
      maximum: 100,
      default: 20,
      description: "1..100, default 20 (out-of-range values are clamped)",
    }),
  cursor: z.string().max(200).optional(),
});
export type ListQuery = z.infer<typeof ListQuerySchema>;

/**
 * `?limit` and `?cursor` as a service reads them: the cursor decoded (shared/cursor.ts) and checked
 * against the list's own `position` schema for the pair; a cursor this list did not issue is a
 * 400 naming `cursor`, and `?cursor=` is the first page, as no cursor is.
 */
export function pagedQuerySchema<P extends z.ZodType>(position: P) {
  return ListQuerySchema.extend({
    cursor: z
      .string()
      .max(200)
      .optional()
      .transform((cursor, ctx): z.output<P> | undefined => {
        if (!cursor) return undefined;
        const parsed = position.safeParse(decodeCursor(cursor));
        if (parsed.success) return parsed.data;
        ctx.addIssue({ code: "custom", message: "Not a cursor from this list." });
        return z.NEVER;
      }),
  });
}

export const pageOf = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });

/**
 * What an RPC caller passes along with a state-changing call: the W3C traceparent of the request
 * that caused it, so the events the call raises carry that trace. A malformed value is dropped.
 */
export const CallContextSchema = z
  .object({
    traceparent: z
      .string()
      .regex(/^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/)
      .nullable()
      .catch(null),
  })
  .partial();
export type CallContext = z.infer<typeof CallContextSchema>;

/** The trace a caller passed along (untrusted like any RPC argument: anything malformed is none). */
export function traceparentOf(context: unknown): string | null {
  const parsed = CallContextSchema.safeParse(context ?? {});
  return parsed.success ? (parsed.data.traceparent ?? null) : null;
}
