import type { FaultSpec, Faults } from "#shared/contracts/payments";

/**
 * Fault injection, pure: which faults apply to one request and what happens to it. No I/O; the
 * random source is a parameter so tests can make every draw deterministic.
 */

export type FaultTarget = "psp" | `psp:${string}`;

export const GLOBAL_TARGET = "psp";
export const endpointTarget = (endpoint: string): FaultTarget => `psp:${endpoint}`;

/** The spec for one endpoint: the `psp` spec, overridden field by field by `psp:<endpoint>`. */
export function effectiveSpec(faults: Faults, endpoint: string): FaultSpec {
  return { ...faults[GLOBAL_TARGET], ...faults[endpointTarget(endpoint)] };
}

/** A spec with no positive value (`{}`, all zeros) means "no fault": its target is cleared. */
export function isEmptySpec(spec: FaultSpec): boolean {
  return !Object.values(spec).some((value) => value !== undefined && value > 0);
}

/**
 * Applies an update to the stored faults: each target given replaces that target's spec, a target
 * given an empty or all-zero spec is cleared, and targets not mentioned stay as they are. A zero
 * beside a positive value is kept, so `{"psp:a": {errorRate: 0, latencyMs: 5}}` exempts `a` from
 * a `psp` error rate.
 */
export function applyFaultUpdate(current: Faults, update: Faults): Faults {
  const next: Faults = { ...current };
  for (const [target, spec] of Object.entries(update)) {
    if (isEmptySpec(spec)) delete next[target];
    else next[target] = Object.fromEntries(Object.entries(spec).filter(([, value]) => value !== undefined));
  }
  return next;
}

/**
 * What the simulator does with a request:
 * - `timeout`: performs the operation, then never answers in time (the worst case for a client:
 *   it cannot tell whether the operation happened);
 * - `error`: answers 503 before doing anything;
 * - `decline`: declines a new authorisation (other operations cannot be declined);
 * - `ok`: behaves.
 */
export type FaultOutcome = "timeout" | "error" | "decline" | "ok";

export interface FaultDraw {
  latencyMs: number;
  outcome: FaultOutcome;
}

/**
 * Draws one request's fate. Each rate is its own draw, checked in the order timeout, error,
 * decline: `timeoutRate` is the chance of a timeout, `errorRate` the chance of a 503 for a request
 * that did not time out, `declineRate` the chance of a decline for an authorisation that got
 * through. A rate of 1 therefore always strikes (unless an earlier fault struck first).
 */
export function drawFault(spec: FaultSpec, kind: "authorize" | "other", random: () => number = Math.random): FaultDraw {
  const latencyMs = spec.latencyMs ?? 0;
  if (strikes(spec.timeoutRate, random)) return { latencyMs, outcome: "timeout" };
  if (strikes(spec.errorRate, random)) return { latencyMs, outcome: "error" };
  if (kind === "authorize" && strikes(spec.declineRate, random)) return { latencyMs, outcome: "decline" };
  return { latencyMs, outcome: "ok" };
}

function strikes(rate: number | undefined, random: () => number): boolean {
  // No draw for an absent or zero rate, so a seeded sequence is spent only on real faults.
  if (rate === undefined || rate <= 0) return false;
  return random() < rate;
}
