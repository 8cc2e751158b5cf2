import type { Admission, BreakerState, CircuitBreakerRpc } from "./contracts/breaker";
import { isTransient } from "./errors";
import { fail, type Result } from "./result";

/** What a caller needs of the CircuitBreaker namespace: a stub per dependency name. */
export interface BreakerNamespace {
  getByName(name: string): Pick<CircuitBreakerRpc, "acquire" | "record">;
}

/** One call through a breaker, as the saga's step history records it. */
export interface BreakerTrace {
  breaker: BreakerState;
  /** false when the breaker refused the call (it never reached the dependency) */
  called: boolean;
}

/**
 * Calls a dependency through its CircuitBreaker object. The object is the truth; a `closed`
 * answer may be reused for up to `closedCacheMs` (1 s by default) so that one object per
 * dependency does not become a hot spot. Every outcome is recorded: transient failures count,
 * business failures (a decline, out of stock) are successes of the dependency.
 *
 * Keep one client per isolate (module scope of the calling Worker) for the cache to help.
 */
export class BreakerClient {
  readonly #closedUntil = new Map<string, number>();

  constructor(
    private readonly namespace: () => BreakerNamespace,
    private readonly closedCacheMs = 1000,
  ) {}

  async call<T>(name: string, fn: () => Promise<Result<T>>): Promise<Result<T> & { trace: BreakerTrace }> {
    const breaker = this.namespace().getByName(name);
    let admission: Admission;
    const cached = (this.#closedUntil.get(name) ?? 0) > Date.now();
    if (cached) {
      admission = { allowed: true, state: "closed" };
    } else {
      try {
        admission = await breaker.acquire();
      } catch {
        // The breaker itself is unreachable: behave as closed rather than stop all traffic.
        admission = { allowed: true, state: "closed" };
      }
      if (admission.state === "closed") this.#closedUntil.set(name, Date.now() + this.closedCacheMs);
      else this.#closedUntil.delete(name);
    }
    if (!admission.allowed) {
      return {
        ...fail<T>("unavailable", `${name} is unavailable (circuit ${admission.state})`),
        trace: { breaker: admission.state, called: false },
      };
    }
    let result: Result<T>;
    try {
      result = await fn();
    } catch (error) {
      result = fail<T>("unavailable", `${name} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    const failed = !result.ok && isTransient(result.code);
    try {
      const after = await breaker.record(failed ? "failure" : "success", admission.probe);
      if (after.state !== "closed") this.#closedUntil.delete(name);
    } catch {
      // Recording is best effort; the dependency's answer stands.
    }
    return { ...result, trace: { breaker: admission.state, called: true } };
  }
}
