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

/** What this isolate last learned from a breaker, per dependency name. */
interface Known {
  /** A `closed` answer may be reused until then. */
  closedUntil: number;
  /** After a refusal, no call (nor question) until then: the object said when to come back. */
  refusedUntil: number;
  /** Bumped whenever the cached answer is dropped, so a late `closed` answer cannot be cached over newer news. */
  generation: number;
}

/**
 * Calls a dependency through its CircuitBreaker object. The object is the truth; a `closed`
 * answer may be reused for up to `closedCacheMs` (1 s by default) and a refusal until the object's
 * `retryInMs`, so that one object per dependency does not become a hot spot. Every outcome of a
 * call is recorded: transient failures count, business failures (a decline, out of stock) are
 * successes of the dependency.
 *
 * Keep one client per isolate (module scope of the calling Worker) for the cache to help.
 */
export interface BreakerClientOptions {
  /** How long a `closed` answer is reused (default 1000 ms). */
  closedCacheMs?: number;
  log?: (message: string, fields: Record<string, unknown>) => void;
  /** The clock, for tests. */
  now?: () => number;
}

export class BreakerClient {
  readonly #known = new Map<string, Known>();
  readonly #closedCacheMs: number;
  readonly #log: (message: string, fields: Record<string, unknown>) => void;
  readonly #now: () => number;

  constructor(
    private readonly namespace: () => BreakerNamespace,
    options: BreakerClientOptions = {},
  ) {
    this.#closedCacheMs = options.closedCacheMs ?? 1000;
    this.#log = options.log ?? (() => {});
    this.#now = options.now ?? Date.now;
  }

  #entry(name: string): Known {
    let known = this.#known.get(name);
    if (!known) {
      known = { closedUntil: 0, refusedUntil: 0, generation: 0 };
      this.#known.set(name, known);
    }
    return known;
  }

  #forget(known: Known): void {
    known.closedUntil = 0;
    known.generation += 1;
  }

  async #admit(name: string, breaker: Pick<CircuitBreakerRpc, "acquire">): Promise<Admission> {
    const known = this.#entry(name);
    const now = this.#now();
    if (known.closedUntil > now) return { allowed: true, state: "closed" };
    if (known.refusedUntil > now) return { allowed: false, state: "open", retryInMs: known.refusedUntil - now };
    const generation = known.generation;
    let admission: Admission;
    try {
      admission = await breaker.acquire();
    } catch (error) {
      // The breaker itself is unreachable: behave as closed rather than stop all traffic.
      this.#log("breaker unreachable; calling anyway", { breaker: name, error: String(error) });
      return { allowed: true, state: "closed" };
    }
    if (admission.state === "closed") {
      if (known.generation === generation) known.closedUntil = now + this.#closedCacheMs;
    } else {
      this.#forget(known);
      // While open nothing passes until retryInMs; while half-open the probe may close the
      // breaker any moment, so a refusal is remembered for at most the closed-cache time.
      if (!admission.allowed && admission.retryInMs) {
        const wait =
          admission.state === "open" ? admission.retryInMs : Math.min(admission.retryInMs, this.#closedCacheMs);
        known.refusedUntil = now + wait;
      }
    }
    return admission;
  }

  async call<T>(name: string, fn: () => Promise<Result<T>>): Promise<Result<T> & { trace: BreakerTrace }> {
    const breaker = this.namespace().getByName(name);
    const admission = await this.#admit(name, breaker);
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
      // The message may be internal: it is logged, and the caller gets a generic detail.
      this.#log("dependency call threw", { breaker: name, error: String(error) });
      result = fail<T>("unavailable", `${name} did not answer`);
    }
    const failed = !result.ok && isTransient(result.code);
    try {
      const after = await breaker.record(failed ? "failure" : "success", admission.probe);
      const known = this.#entry(name);
      if (after.state === "closed") known.refusedUntil = 0;
      else this.#forget(known);
    } catch {
      // Recording is best effort; the dependency's answer stands.
    }
    return { ...result, trace: { breaker: admission.state, called: true } };
  }
}
