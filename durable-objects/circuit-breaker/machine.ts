/**
 * The pure state machine of a circuit breaker (no I/O, no clock: callers pass `now`).
 *
 *   closed    --failureThreshold consecutive transient failures-->  open
 *   open      --first acquire() once openMs has passed------------>  half_open (that caller holds the probe)
 *   half_open --the probe records success------------------------>  closed
 *   half_open --the probe records failure------------------------>  open (openedAt = now)
 *
 * Only one probe is out at a time: it is a lease (`probe.id`, `probe.expiresAt`). A probe whose
 * caller vanished is replaced by the first acquire() after its lease expires. Records carrying a
 * probe id that is not the current probe's (late, duplicated or forged) change nothing, and so do
 * records of ordinary calls while the breaker is open or half-open: only the probe decides.
 *
 * Every function returns the very same state object when nothing changed, so the caller can skip
 * the write.
 */
import * as z from "zod";
import { intVar, readConfig } from "#shared/config";
import type { Admission, Breaker, BreakerState } from "#shared/contracts/breaker";

export interface BreakerConfig {
  /** Consecutive transient failures that open a closed breaker. */
  failureThreshold: number;
  /** How long an open breaker refuses every call before it lets one probe through. */
  openMs: number;
  /** How long a probe may stay out before another caller may probe instead. */
  probeLeaseMs: number;
}

/** Defaults: open after 5 consecutive failures, probe after 60 s, a probe's lease lasts 10 s. */
export const DEFAULT_BREAKER_CONFIG: Readonly<BreakerConfig> = {
  failureThreshold: 5,
  openMs: 60_000,
  probeLeaseMs: 10_000,
};

export interface Probe {
  id: string;
  /** Epoch ms after which the probe is presumed lost and another caller may probe. */
  expiresAt: number;
}

export interface MachineState {
  state: BreakerState;
  /** Consecutive transient failures (reset by a success in closed, or by a successful probe). */
  failures: number;
  /** Epoch ms of the last move to open; kept through half_open, cleared on closing. */
  openedAt?: number;
  /** Epoch ms of the last change of `state`. */
  lastTransitionAt: number;
  /** The probe out while half_open. */
  probe?: Probe;
}

export type Outcome = "success" | "failure";

export function initialState(now: number): MachineState {
  return { state: "closed", failures: 0, lastTransitionAt: now };
}

function newProbe(newProbeId: () => string, now: number, config: BreakerConfig): Probe {
  return { id: newProbeId(), expiresAt: now + config.probeLeaseMs };
}

/**
 * "May I call?" Closed admits everyone. Open refuses until `openMs` has passed since it opened,
 * then hands the single probe to the first caller (moving to half_open). Half-open refuses everyone
 * while the probe's lease runs, and hands a new probe to the first caller after it expired.
 * `newProbeId` is called only when a probe is handed out.
 */
export function acquire(
  current: MachineState,
  now: number,
  config: BreakerConfig,
  newProbeId: () => string,
): { state: MachineState; admission: Admission } {
  switch (current.state) {
    case "closed":
      return { state: current, admission: { allowed: true, state: "closed" } };
    case "open": {
      const probeAt = (current.openedAt ?? current.lastTransitionAt) + config.openMs;
      if (now < probeAt) {
        return { state: current, admission: { allowed: false, state: "open", retryInMs: probeAt - now } };
      }
      const probe = newProbe(newProbeId, now, config);
      return {
        state: { ...current, state: "half_open", lastTransitionAt: now, probe },
        admission: { allowed: true, state: "half_open", probe: probe.id },
      };
    }
    case "half_open": {
      if (current.probe && now < current.probe.expiresAt) {
        return {
          state: current,
          admission: { allowed: false, state: "half_open", retryInMs: current.probe.expiresAt - now },
        };
      }
      // The probe's caller vanished (or never existed): the lease is over, this caller probes.
      const probe = newProbe(newProbeId, now, config);
      return {
        state: { ...current, probe },
        admission: { allowed: true, state: "half_open", probe: probe.id },
      };
    }
  }
}

/**
 * The outcome of a call admitted by `acquire`. `probeId` is the probe lease the call held, if any.
 * A transient failure is a "failure"; a business failure (a decline, out of stock) is a "success"
 * of the dependency.
 */
export function record(
  current: MachineState,
  outcome: Outcome,
  probeId: string | undefined,
  now: number,
  config: BreakerConfig,
): MachineState {
  if (probeId !== undefined) {
    // Only the current probe's answer moves a half-open breaker. A stale id (its lease expired and
    // another caller probes now, or it already recorded) is ignored in every state: counting it
    // could close a breaker on an old answer or reopen one that a newer probe closed.
    if (current.state !== "half_open" || current.probe?.id !== probeId) return current;
    if (outcome === "success") {
      return { state: "closed", failures: 0, lastTransitionAt: now };
    }
    return { state: "open", failures: current.failures + 1, openedAt: now, lastTransitionAt: now };
  }
  // An ordinary call. While open or half-open only the probe decides: callers admitted before the
  // breaker opened report late, and their answers are older than the probe's.
  if (current.state !== "closed") return current;
  if (outcome === "success") {
    return current.failures === 0 ? current : { ...current, failures: 0 };
  }
  const failures = current.failures + 1;
  if (failures >= config.failureThreshold) {
    return { state: "open", failures, openedAt: now, lastTransitionAt: now };
  }
  return { ...current, failures };
}

/** The public view of a breaker, with ISO timestamps. */
export function toBreaker(name: string, current: MachineState): Breaker {
  return {
    name,
    state: current.state,
    failures: current.failures,
    ...(current.openedAt === undefined ? {} : { openedAt: new Date(current.openedAt).toISOString() }),
    lastTransitionAt: new Date(current.lastTransitionAt).toISOString(),
  };
}

/** The configuration variables a breaker reads; each falls back to its default when unset or empty. */
export interface BreakerVars {
  BREAKER_FAILURE_THRESHOLD?: string;
  BREAKER_OPEN_MS?: string;
  BREAKER_PROBE_LEASE_MS?: string;
}

const BreakerVarsSchema = z.object({
  BREAKER_FAILURE_THRESHOLD: intVar(1, { fallback: DEFAULT_BREAKER_CONFIG.failureThreshold }),
  BREAKER_OPEN_MS: intVar(0, { fallback: DEFAULT_BREAKER_CONFIG.openMs }),
  BREAKER_PROBE_LEASE_MS: intVar(1, { fallback: DEFAULT_BREAKER_CONFIG.probeLeaseMs }),
});

/** Reads the breaker settings; a bad value throws, so a misconfigured breaker fails loudly. */
export function breakerConfig(vars: BreakerVars): BreakerConfig {
  const v = readConfig(BreakerVarsSchema, vars);
  return {
    failureThreshold: v.BREAKER_FAILURE_THRESHOLD,
    openMs: v.BREAKER_OPEN_MS,
    probeLeaseMs: v.BREAKER_PROBE_LEASE_MS,
  };
}
