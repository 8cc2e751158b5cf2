import type { Breaker } from "../../shared/src/contracts/breaker";

/**
 * The dependencies an operator lists: Durable Objects cannot be enumerated, so the breakers shown
 * are the ones named in `BREAKER_NAMES` (comma-separated; blanks and repeats ignored, order kept).
 */
export function breakerNames(env: Pick<Env, "BREAKER_NAMES">): string[] {
  const names = (env.BREAKER_NAMES ?? "").split(",").map((name) => name.trim());
  return [...new Set(names.filter((name) => name.length > 0))];
}

/** A snapshot of every configured breaker, in configuration order. Reading changes no breaker. */
export function listBreakers(env: Pick<Env, "BREAKER_NAMES" | "CIRCUIT_BREAKER">): Promise<Breaker[]> {
  return Promise.all(breakerNames(env).map((name) => env.CIRCUIT_BREAKER.getByName(name).snapshot()));
}
