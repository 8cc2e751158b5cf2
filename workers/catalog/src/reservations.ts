import { OrderIdSchema } from "#shared/contracts/common";
import { fail, ok, type Result } from "#shared/result";
import { parseResult } from "#shared/validation";
import type { CatalogRepository, Transition } from "./repository";
import {
  commitOutcome,
  linesKey,
  ReserveInputSchema,
  releaseOutcome,
  replayReserve,
  returnOutcome,
  type StoredState,
} from "./reservation-rules";

/**
 * Stock reservations for the order saga, idempotent by order id: every call for an order answers
 * what the first call decided and moves stock at most once, however often or concurrently it comes.
 */

export interface ReservationsDeps {
  repo: CatalogRepository;
  now?: () => string;
}

const nowIso = () => new Date().toISOString();

export async function reserve(
  deps: ReservationsDeps,
  orderId: unknown,
  lines: unknown,
): Promise<Result<{ state: "reserved" }>> {
  const input = parseResult(ReserveInputSchema, { orderId, lines }, "reservation");
  if (!input.ok) return input;
  const key = linesKey(input.value.lines);
  const outcome = await deps.repo.reserve(input.value.orderId, input.value.lines, key, (deps.now ?? nowIso)());
  switch (outcome.kind) {
    case "reserved":
      return ok({ state: "reserved" });
    case "replay":
      return replayReserve(input.value.orderId, outcome, key);
    case "short": {
      const named = outcome.shortfalls.map((s) => `${s.productId} (${s.available} available, ${s.wanted} wanted)`);
      return fail("out_of_stock", named.length > 0 ? `Not enough stock: ${named.join(", ")}.` : "Not enough stock.");
    }
    case "unknown_products":
      return fail("not_found", `No product ${outcome.productIds.join(", ")}.`);
  }
}

async function transition<T>(
  deps: ReservationsDeps,
  orderId: unknown,
  move: Transition,
  outcome: (orderId: string, state: StoredState | null) => Result<T>,
): Promise<Result<T>> {
  const id = parseResult(OrderIdSchema, orderId, "order id");
  if (!id.ok) return id;
  return outcome(id.value, await deps.repo.transition(id.value, move, (deps.now ?? nowIso)()));
}

/** Reserved -> sold (the order is confirmed). */
export function commit(deps: ReservationsDeps, orderId: unknown): Promise<Result<{ state: "committed" }>> {
  return transition(deps, orderId, "commit", commitOutcome);
}

/** Reserved -> available (the order is cancelled before its pivot); `none` if nothing was held. */
export function release(deps: ReservationsDeps, orderId: unknown): Promise<Result<{ state: "released" | "none" }>> {
  return transition(deps, orderId, "release", releaseOutcome);
}

/** Sold -> available (a confirmed order is refunded). */
export function returnToStock(deps: ReservationsDeps, orderId: unknown): Promise<Result<{ state: "returned" }>> {
  return transition(deps, orderId, "return", returnOutcome);
}
