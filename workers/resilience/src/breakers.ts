import * as z from "zod";
import { listVar, readConfig } from "#shared/config";
import type { Breaker } from "#shared/contracts/breaker";

const VarsSchema = z.object({ BREAKER_NAMES: listVar({ optional: true }) });

/**
 * The dependencies an operator lists: Durable Objects cannot be enumerated, so the breakers shown
 * are the ones named in `BREAKER_NAMES` (comma-separated; blanks and repeats ignored, order kept).
 */
export function breakerNames(env: Pick<Env, "BREAKER_NAMES">): string[] {
  return [...new Set(readConfig(VarsSchema, env).BREAKER_NAMES)];
}

/** A snapshot of every configured breaker, in configuration order. Reading changes no breaker. */
export function listBreakers(env: Pick<Env, "BREAKER_NAMES" | "CIRCUIT_BREAKER">): Promise<Breaker[]> {
  return Promise.all(breakerNames(env).map((name) => env.CIRCUIT_BREAKER.getByName(name).snapshot()));
}
