import * as z from "zod";
import { OrderLineSchema } from "#shared/contracts/catalog";
import { OrderIdSchema } from "#shared/contracts/common";
import { fail, ok, type Result } from "#shared/result";

/**
 * The pure rules of stock reservations: what input a reservation accepts, and what each call
 * answers given the state stored for its order. The SQL that moves stock is in repository.ts.
 *
 * States of an order's reservation row:
 *   reserved -> committed -> returned, or reserved -> released;
 *   failed: the order was short on some line, nothing is held;
 *   abandoned: released before any reservation arrived, so a late one is refused.
 */
export type StoredState = "reserved" | "committed" | "released" | "returned" | "failed" | "abandoned";

/** The saga's order has 1..50 lines. */
export const MAX_LINES = 50;

/**
 * A product appears at most once per reservation: duplicates are refused, not merged. Merging would
 * hide a bug in the caller (orders merges lines when it builds the order) and could form a quantity
 * above the per-line limit; with one row per (order, product) a refused order is also easy to see.
 */
export const ReserveInputSchema = z.object({
  orderId: OrderIdSchema,
  lines: z
    .array(OrderLineSchema)
    .min(1)
    .max(MAX_LINES)
    .superRefine((lines, ctx) => {
      const seen = new Set<string>();
      lines.forEach((line, index) => {
        if (seen.has(line.productId)) {
          ctx.addIssue({ code: "custom", path: [index, "productId"], message: "This product already has a line." });
        }
        seen.add(line.productId);
      });
    }),
});
export type ReserveInput = z.infer<typeof ReserveInputSchema>;

/** A canonical form of the lines (sorted by product), stored to tell a replay from a different request. */
export function linesKey(lines: readonly { productId: string; quantity: number }[]): string {
  return lines
    .map((line) => `${line.productId}*${line.quantity}`)
    .sort()
    .join(",");
}

/** The first outcome of a reservation, answered again to a later call for the same order. */
export function replayReserve(
  orderId: string,
  stored: { state: StoredState; linesKey: string | null },
  requestedKey: string,
): Result<{ state: "reserved" }> {
  if (stored.state === "abandoned") {
    return fail("conflict", `Order ${orderId} was released before it reserved: it can no longer reserve.`);
  }
  if (stored.linesKey !== requestedKey) {
    return fail("conflict", `Order ${orderId} already asked for other lines.`);
  }
  if (stored.state === "failed") return fail("out_of_stock", `Order ${orderId} could not be reserved: out of stock.`);
  // reserved, or a later state of a reservation that succeeded: the first answer was "reserved".
  return ok({ state: "reserved" });
}

/** What `commit` answers once its batch ran, from the state it left. */
export function commitOutcome(orderId: string, state: StoredState | null): Result<{ state: "committed" }> {
  switch (state) {
    case null:
      return fail("not_found", `Order ${orderId} has no reservation.`);
    case "committed":
    case "returned": // committed earlier, then returned: a late duplicate commit changes nothing
      return ok({ state: "committed" });
    case "released":
      return fail("conflict", `The reservation of order ${orderId} was released; it cannot be committed.`);
    case "failed":
    case "abandoned":
      return fail("conflict", `Order ${orderId} holds no stock to commit.`);
    case "reserved":
      throw new Error(`commit left order ${orderId} reserved`);
  }
}

/** What `release` answers once its batch ran. */
export function releaseOutcome(orderId: string, state: StoredState | null): Result<{ state: "released" | "none" }> {
  switch (state) {
    case "released":
      return ok({ state: "released" });
    case null:
    case "failed":
    case "abandoned":
      return ok({ state: "none" });
    case "committed":
    case "returned":
      return fail("conflict", `The reservation of order ${orderId} was committed; return the stock instead.`);
    case "reserved":
      throw new Error(`release left order ${orderId} reserved`);
  }
}

/** What `returnToStock` answers once its batch ran. */
export function returnOutcome(orderId: string, state: StoredState | null): Result<{ state: "returned" }> {
  switch (state) {
    case null:
      return fail("not_found", `Order ${orderId} has no reservation.`);
    case "returned":
      return ok({ state: "returned" });
    case "reserved":
      return fail("conflict", `The reservation of order ${orderId} is not committed: release it instead.`);
    case "released":
    case "failed":
    case "abandoned":
      return fail("conflict", `Order ${orderId} sold nothing to return.`);
    case "committed":
      throw new Error(`returnToStock left order ${orderId} committed`);
  }
}
