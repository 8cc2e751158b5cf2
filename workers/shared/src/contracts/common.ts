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
 * Who caused a change (issue 10): a user or an admin by the verified identity the gateway set, or
 * the system (a sweep, a timer, a script) by the name of the part that acted. Events and audit
 * entries carry it.
 */
export const ActorSchema = z
  .object({ type: z.enum(["user", "admin", "system"]), id: z.string().min(1).max(100) })
  .meta({ id: "Actor" });
export type Actor = z.infer<typeof ActorSchema>;

/** A part of the system acting on its own (a sweep, a timer, a script). */
export const systemActor = (id: string): Actor => ({ type: "system", id });

/**
 * The actor of a request by its verified identity. A request with none (registering, say) is
 * `user:anonymous`: a person caused it, but nobody we can name yet.
 */
export function actorOf(identity: { userId: string; role: string } | undefined): Actor {
  if (!identity) return { type: "user", id: "anonymous" };
  return { type: identity.role === "admin" ? "admin" : "user", id: identity.userId };
}

/**
 * What an RPC caller passes along with a state-changing call: the W3C traceparent of its span and
 * the actor who caused it, so the events the call raises carry both. Malformed values are dropped.
 */
export const CallContextSchema = z
  .object({
    traceparent: z
      .string()
      .regex(/^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/)
      .nullable()
      .catch(null),
    actor: ActorSchema.optional().catch(undefined),
  })
  .partial();
export type CallContext = z.infer<typeof CallContextSchema>;

/** What caused a unit of work: the trace it belongs to and its actor (an outbox stamps both on events). */
export interface Cause {
  traceparent: string | null;
  actor: Actor;
}

/**
 * The cause a caller passed along (untrusted like any RPC argument: anything malformed is none);
 * without an actor the call is the named part of the system acting on its own.
 */
export function causeOf(context: unknown, system: string): Cause {
  const parsed = CallContextSchema.safeParse(context ?? {});
  const data = parsed.success ? parsed.data : {};
  return { traceparent: data.traceparent ?? null, actor: data.actor ?? systemActor(system) };
}
