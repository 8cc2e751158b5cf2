import { isTransient } from "./errors";
import type { Result } from "./result";

/**
 * Exponential backoff with full jitter (a delay drawn uniformly from 0..min(cap, base * 2^n)),
 * which spreads retries of many callers instead of synchronising them.
 */
export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 100, capMs: 10_000 };

/** The delay before retry number `attempt` (1 = the first retry). */
export function fullJitterDelay(
  attempt: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
  random = Math.random,
): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

export interface RetryOptions {
  maxAttempts: number;
  policy?: BackoffPolicy;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * In-request retries of a call that answers with a Result: transient failures are retried up to
 * `maxAttempts` in all; business failures and successes return at once. For retries that must
 * survive restarts, use a Durable Object alarm with `fullJitterDelay` instead.
 */
export async function retryTransient<T>(
  call: (attempt: number) => Promise<Result<T>>,
  options: RetryOptions,
): Promise<Result<T>> {
  const sleep = options.sleep ?? realSleep;
  let result = await call(1);
  for (let attempt = 2; attempt <= options.maxAttempts && !result.ok && isTransient(result.code); attempt++) {
    await sleep(fullJitterDelay(attempt - 1, options.policy, options.random));
    result = await call(attempt);
  }
  return result;
}
