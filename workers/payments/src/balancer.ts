/**
 * Load balancing across the provider's endpoints, pure: no I/O, no clock; randomness and the
 * per-isolate state are passed in. Every strategy skips the endpoints the caller marks
 * unavailable (an open breaker, or one that already failed this call) and answers `undefined`
 * when none is left.
 *
 * - round_robin: a rotating cursor, a, b, a, b, ... (skipping an endpoint does not skip a turn of
 *   the others);
 * - least_outstanding: the endpoint with the fewest calls in flight from this isolate; ties go
 *   round robin;
 * - random: uniform;
 * - weighted: random in proportion to the weights (uniform if every available weight is 0).
 */

export const STRATEGIES = ["round_robin", "least_outstanding", "random", "weighted"] as const;
export type Strategy = (typeof STRATEGIES)[number];

export interface BalancedEndpoint {
  name: string;
  /** Used by `weighted` only; 0 takes no share while others are available. */
  weight: number;
}

export interface Choice<E> {
  endpoint: E;
  /** The round-robin cursor after this pick: the index to start from next time. */
  cursor: number;
}

type Unavailable = ReadonlySet<string>;

/** The first available endpoint at or after `cursor`, wrapping around. */
export function roundRobin<E extends BalancedEndpoint>(
  endpoints: readonly E[],
  cursor: number,
  unavailable: Unavailable,
): Choice<E> | undefined {
  const n = endpoints.length;
  for (let k = 0; k < n; k++) {
    const index = (((cursor + k) % n) + n) % n;
    const endpoint = endpoints[index] as E;
    if (!unavailable.has(endpoint.name)) return { endpoint, cursor: (index + 1) % n };
  }
  return undefined;
}

/** The available endpoint with the fewest calls in flight; among equals, the first from `cursor`. */
export function leastOutstanding<E extends BalancedEndpoint>(
  endpoints: readonly E[],
  inFlight: ReadonlyMap<string, number>,
  cursor: number,
  unavailable: Unavailable,
): Choice<E> | undefined {
  const n = endpoints.length;
  let best: { index: number; load: number } | undefined;
  for (let k = 0; k < n; k++) {
    const index = (((cursor + k) % n) + n) % n;
    const endpoint = endpoints[index] as E;
    if (unavailable.has(endpoint.name)) continue;
    const load = inFlight.get(endpoint.name) ?? 0;
    if (!best || load < best.load) best = { index, load };
  }
  return best ? { endpoint: endpoints[best.index] as E, cursor: (best.index + 1) % n } : undefined;
}

export function randomPick<E extends BalancedEndpoint>(
  endpoints: readonly E[],
  unavailable: Unavailable,
  random: () => number,
): E | undefined {
  const candidates = endpoints.filter((e) => !unavailable.has(e.name));
  return candidates[Math.min(candidates.length - 1, Math.floor(random() * candidates.length))];
}

export function weightedPick<E extends BalancedEndpoint>(
  endpoints: readonly E[],
  unavailable: Unavailable,
  random: () => number,
): E | undefined {
  const candidates = endpoints.filter((e) => !unavailable.has(e.name));
  const total = candidates.reduce((sum, e) => sum + Math.max(0, e.weight), 0);
  if (total <= 0) return randomPick(candidates, unavailable, random);
  let point = random() * total;
  for (const endpoint of candidates) {
    point -= Math.max(0, endpoint.weight);
    if (point < 0) return endpoint;
  }
  // random() < 1 keeps us in the loop above; this only guards rounding at the very top.
  return candidates.findLast((e) => e.weight > 0);
}

/**
 * One balancer per isolate (module scope of the Worker): it keeps the round-robin cursor and the
 * in-flight counts between requests. The decisions are the pure functions above.
 */
export class Balancer<E extends BalancedEndpoint> {
  #cursor = 0;
  readonly #inFlight = new Map<string, number>();

  constructor(
    readonly strategy: Strategy,
    readonly endpoints: readonly E[],
    private readonly random: () => number = Math.random,
  ) {
    if (endpoints.length === 0) throw new Error("a balancer needs at least one endpoint");
  }

  pick(unavailable: Unavailable = new Set()): E | undefined {
    switch (this.strategy) {
      case "round_robin":
        return this.#advance(roundRobin(this.endpoints, this.#cursor, unavailable));
      case "least_outstanding":
        return this.#advance(leastOutstanding(this.endpoints, this.#inFlight, this.#cursor, unavailable));
      case "random":
        return randomPick(this.endpoints, unavailable, this.random);
      case "weighted":
        return weightedPick(this.endpoints, unavailable, this.random);
    }
  }

  /** Counts one call to `name` as in flight; call the returned function exactly once when it ends. */
  begin(name: string): () => void {
    this.#inFlight.set(name, (this.#inFlight.get(name) ?? 0) + 1);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const left = (this.#inFlight.get(name) ?? 1) - 1;
      if (left > 0) this.#inFlight.set(name, left);
      else this.#inFlight.delete(name);
    };
  }

  outstanding(name: string): number {
    return this.#inFlight.get(name) ?? 0;
  }

  #advance(pick: Choice<E> | undefined): E | undefined {
    if (!pick) return undefined;
    this.#cursor = pick.cursor;
    return pick.endpoint;
  }
}
