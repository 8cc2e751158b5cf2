/**
 * The pure core of the OrderSaga Durable Object (SPEC.md section 4): no I/O, no clock, no sleeps.
 * Every change is `transition(state, event, now, config, random) -> {state, commands, wakeAt, reply}`.
 *
 * The wrapper (the Durable Object) does, for every event, with no await between read and write:
 *   1. load the state, call `transition`, store `state` (skip the write when it is the same object);
 *   2. set the one alarm to `wakeAt` (or delete it when null), so every timer (retry backoffs,
 *      call watchdogs, unconfirmed emits) is multiplexed on the earliest due time;
 *   3. perform the `commands` in order, feeding each answer back as an event:
 *      `call` -> run the step (STEPS[step] says which method, and whether through a breaker), then
 *      `step_result` with the same step and attempt; `emit` -> write the event to the orders outbox
 *      (idempotent by `id`), then `emitted`.
 *   On `alarm()` it feeds `alarm`; when the object starts (constructor) it feeds `resume`.
 *
 * Delivery contract: at least once. A call whose answer never came back (the object restarted, or
 * no answer within `callTimeoutMs`) is issued again as a new attempt, so every step must be
 * idempotent by order id downstream (catalog and payments are; the orders writes are conditional).
 * Only the answer to the current attempt counts: late, duplicated or stale `step_result`s (a lower
 * attempt, another step, a step no longer running) change nothing.
 *
 * A transition that changes nothing returns the very same state object.
 */

import * as z from "zod";
import type { BreakerTrace } from "#shared/breaker-client";
import { intVar, readConfig } from "#shared/config";
import type { CancelReason, SagaState, SagaView } from "#shared/contracts/orders";
import { type ErrorCode, isTransient } from "#shared/errors";
import { type BackoffPolicy, fullJitterDelay } from "#shared/retry";
import { FINAL_COMPENSATION, type Flow, FORWARD_STEPS, PIVOT_STEP, REFUND_STEPS, type StepName, specOf } from "./steps";

export type { Flow, StepName } from "./steps";

// ---------------------------------------------------------------------------------------------
// Configuration

export interface SagaConfig {
  /** Before the pivot, transient failures are retried until `start + deadlineMs`, then compensated. */
  deadlineMs: number;
  /** Backoff of forward and refund steps (full jitter). */
  backoff: BackoffPolicy;
  /** Backoff of compensation steps (full jitter, capped). */
  compensationBackoff: BackoffPolicy;
  /**
   * How long a compensation keeps failing against a dependency that answers (or loses its answer)
   * before the saga is `compensation_failed`. Attempts the breaker refused use none of it, so an
   * outage behind an open breaker is waited out however long it lasts.
   */
  compensationBudgetMs: number;
  /** A call (or an emit) with no answer after this long is presumed lost and issued again. */
  callTimeoutMs: number;
  /** Attempts kept in each step's history (the latest ones); `attempts` still counts them all. */
  attemptLogLimit: number;
}

/**
 * Defaults: a 2-minute deadline before the pivot; forward retries 0..min(10 s, 200 ms * 2^n);
 * compensation retries 0..min(30 s, 1 s * 2^n) on a 24-hour budget (long enough to outlast a real
 * incident); a call with no answer after 60 s is issued again (longer than any provider latency
 * the simulator injects, 30 s).
 */
export const DEFAULT_SAGA_CONFIG: Readonly<SagaConfig> = {
  deadlineMs: 120_000,
  backoff: { baseMs: 200, capMs: 10_000 },
  compensationBackoff: { baseMs: 1_000, capMs: 30_000 },
  compensationBudgetMs: 24 * 60 * 60 * 1000,
  callTimeoutMs: 60_000,
  attemptLogLimit: 20,
};

/** The configuration variables a saga reads; each falls back to its default when unset or empty. */
export interface SagaVars {
  SAGA_DEADLINE_MS?: string;
  SAGA_BACKOFF_BASE_MS?: string;
  SAGA_BACKOFF_CAP_MS?: string;
  SAGA_COMPENSATION_BACKOFF_BASE_MS?: string;
  SAGA_COMPENSATION_BACKOFF_CAP_MS?: string;
  SAGA_COMPENSATION_BUDGET_MS?: string;
  SAGA_CALL_TIMEOUT_MS?: string;
}

const d = DEFAULT_SAGA_CONFIG;
const SagaVarsSchema = z.object({
  SAGA_DEADLINE_MS: intVar(0, { fallback: d.deadlineMs }),
  SAGA_BACKOFF_BASE_MS: intVar(1, { fallback: d.backoff.baseMs }),
  SAGA_BACKOFF_CAP_MS: intVar(1, { fallback: d.backoff.capMs }),
  SAGA_COMPENSATION_BACKOFF_BASE_MS: intVar(1, { fallback: d.compensationBackoff.baseMs }),
  SAGA_COMPENSATION_BACKOFF_CAP_MS: intVar(1, { fallback: d.compensationBackoff.capMs }),
  SAGA_COMPENSATION_BUDGET_MS: intVar(0, { fallback: d.compensationBudgetMs }),
  SAGA_CALL_TIMEOUT_MS: intVar(1, { fallback: d.callTimeoutMs }),
});

/** Reads the saga settings; a bad value throws, so a misconfigured saga fails loudly. */
export function sagaConfig(vars: SagaVars): SagaConfig {
  const v = readConfig(SagaVarsSchema, vars);
  return {
    deadlineMs: v.SAGA_DEADLINE_MS,
    backoff: { baseMs: v.SAGA_BACKOFF_BASE_MS, capMs: v.SAGA_BACKOFF_CAP_MS },
    compensationBackoff: { baseMs: v.SAGA_COMPENSATION_BACKOFF_BASE_MS, capMs: v.SAGA_COMPENSATION_BACKOFF_CAP_MS },
    compensationBudgetMs: v.SAGA_COMPENSATION_BUDGET_MS,
    callTimeoutMs: v.SAGA_CALL_TIMEOUT_MS,
    attemptLogLimit: d.attemptLogLimit,
  };
}

// ---------------------------------------------------------------------------------------------
// State (plain JSON: store it as one value)

/** The saga's public state (`saga.state` of an order), its steps' and attempts' statuses: the contract's. */
export type { SagaState };
export type StepStatus = SagaView["steps"][number]["status"];
export type Canceller = "customer" | "admin";

/**
 * An attempt's or a step's error: a dependency's code, or one of the saga's own:
 * `no_result` (the answer never came back), `deadline_exceeded`, `cancelled`.
 */
export type StepErrorCode = ErrorCode | "no_result" | "deadline_exceeded" | "cancelled";
export interface StepError {
  code: StepErrorCode;
  detail: string;
}

export type AttemptOutcome = SagaView["steps"][number]["history"][number]["outcome"];

export interface AttemptRecord {
  attempt: number;
  startedAt: number;
  endedAt: number | null;
  /** The breaker's answer for this attempt; null for local steps and for answers that never came. */
  breaker: BreakerTrace | null;
  outcome: AttemptOutcome;
  error?: StepError;
}

export interface StepRecord {
  name: StepName;
  flow: Flow;
  status: StepStatus;
  /** Attempts issued so far (a lost attempt counts). */
  attempts: number;
  /** Epoch ms of the first attempt, and of the step's end. */
  startedAt: number | null;
  endedAt: number | null;
  /** Why the step failed, or the last failure of a step still retrying. Cleared on success. */
  error?: StepError;
  /**
   * Whether the step may have changed its dependency: it succeeded, or an attempt reached the
   * dependency and its answer was transient or lost. Such a step is compensated. A definitive
   * business answer (a decline, a shortfall) holds nothing: downstream is idempotent by order id,
   * so an earlier attempt that had taken effect would have been answered with that effect.
   */
  mayHaveEffect: boolean;
  /**
   * Compensations only: time spent failing against the dependency (from one attempt's end to the
   * next failure that reached it), measured against `compensationBudgetMs`. Refused attempts add
   * nothing.
   */
  spentMs: number;
  /** The latest `attemptLogLimit` attempts. */
  history: AttemptRecord[];
}

/**
 * A step being worked on: its call is out (`calling`), or it waits for its retry (`waiting`).
 * Forward and refund steps run one at a time; compensations all at once, each on its own timer.
 */
export interface ActiveStep {
  step: StepName;
  attempt: number;
  phase: "calling" | "waiting";
  /** calling: when the call is presumed lost; waiting: when to retry. */
  dueAt: number;
}

export type SagaEventType = "order.saga.completed" | "order.saga.failed" | "order.saga.compensation_failed";

export interface SagaEventData {
  orderId: string;
  state: SagaState;
  reason?: CancelReason;
  /** compensation_failed: the compensation that gave up. */
  step?: StepName;
}

export interface PendingEmit {
  /** Stable per saga and event type: the wrapper's dedupe key. */
  id: string;
  event: SagaEventType;
  data: SagaEventData;
  /** Issued again from this time on until the wrapper confirms it with `emitted`. */
  dueAt: number;
}

export interface SagaMachineState {
  version: 2;
  orderId: string;
  status: SagaState;
  /** The sequence being run: forward, then either compensation or (after a refund request) refund. */
  flow: Flow;
  reason: CancelReason | null;
  createdAt: number;
  startedAt: number | null;
  /** Before the pivot no retry is scheduled past this time (epoch ms). */
  deadlineAt: number | null;
  /** When the pivot was taken; from then on the saga only goes forward. */
  pivotAt: number | null;
  /** When the saga came to rest (completed, cancelled, compensation_failed). */
  endedAt: number | null;
  cancel: { by: Canceller; at: number } | null;
  refund: { by: Canceller; at: number } | null;
  /** How often an operator retried a failed compensation. */
  retries: number;
  /** Forward steps from the start, then compensation or refund steps as they are planned. */
  steps: StepRecord[];
  /** At most one per step. */
  active: ActiveStep[];
  /** Events raised and not yet confirmed by the wrapper. */
  outbox: PendingEmit[];
}

// ---------------------------------------------------------------------------------------------
// Events, commands, replies

export type StepResult = { ok: true } | { ok: false; code: ErrorCode; detail: string };

export type SagaInput =
  /** Begin (idempotent: a started or cancelled saga ignores it). */
  | { type: "start" }
  /** The answer to `call {step, attempt}`; `breaker` is null for local steps (target `orders`). */
  | { type: "step_result"; step: StepName; attempt: number; result: StepResult; breaker: BreakerTrace | null }
  /** The alarm fired: whatever is due now runs (a retry, a lost call, an unconfirmed emit). */
  | { type: "alarm" }
  /** The object (re)started: nothing it had started is still running, so re-issue it. */
  | { type: "resume" }
  | { type: "cancel"; by: Canceller }
  | { type: "refund"; by: Canceller }
  /** An operator retries the failed compensations of a `compensation_failed` saga. */
  | { type: "retry" }
  /** The wrapper stored the event of an `emit` command. */
  | { type: "emitted"; id: string };

export type SagaCommand =
  /** Perform `step` once (attempt number `attempt`); `reason` is set for cancel_order only. */
  | { type: "call"; step: StepName; attempt: number; orderId: string; reason?: CancelReason }
  | { type: "emit"; id: string; event: SagaEventType; data: SagaEventData };

export type CancelReply =
  /** The saga stops and compensates (at once, or when the call now out answers). Repeats say so too. */
  | { accepted: true; reason: CancelReason }
  /**
   * past_pivot: the order is confirmed (refund it instead); compensating: it is already being
   * cancelled for `reason`; cancelled / compensation_failed: nothing left to stop.
   */
  | {
      accepted: false;
      refused: "past_pivot" | "compensating" | "cancelled" | "compensation_failed";
      reason: CancelReason | null;
    };

export type RefundReply =
  /** queued: the forward steps finish first (they only go forward), then the refund runs. */
  | { accepted: true; queued: boolean }
  /** not_confirmed: the pivot was not taken (cancel instead) or the saga compensated. */
  | { accepted: false; refused: "not_confirmed" };

export type RetryReply =
  /** The failed compensations run again (a repeat while they run, or after they did, says so too). */
  | { accepted: true }
  /** Only a saga whose compensation failed can be retried. */
  | { accepted: false; refused: SagaState };

export type Reply = CancelReply | RefundReply | RetryReply;

export interface Transition {
  state: SagaMachineState;
  commands: SagaCommand[];
  /** When the object's single alarm must fire next; null: no alarm. */
  wakeAt: number | null;
  /** For `cancel`, `refund` and `retry`, the answer to give the caller; otherwise null. */
  reply: Reply | null;
}

// ---------------------------------------------------------------------------------------------
// Construction and views

function newStep(name: StepName): StepRecord {
  return {
    name,
    flow: specOf(name).flow,
    status: "pending",
    attempts: 0,
    startedAt: null,
    endedAt: null,
    mayHaveEffect: false,
    spentMs: 0,
    history: [],
  };
}

/** A saga not started yet: every forward step pending. Feed it `start`. */
export function initialSaga(orderId: string, now: number): SagaMachineState {
  return {
    version: 2,
    orderId,
    status: "running",
    flow: "forward",
    reason: null,
    createdAt: now,
    startedAt: null,
    deadlineAt: null,
    pivotAt: null,
    endedAt: null,
    cancel: null,
    refund: null,
    retries: 0,
    steps: FORWARD_STEPS.map(newStep),
    active: [],
    outbox: [],
  };
}

/** A state stored by an older version of this machine, in today's shape (version 1: one active step). */
export function upgradeSaga(
  stored: SagaMachineState | (Omit<SagaMachineState, "version" | "active"> & { version: 1; active: ActiveStep | null }),
): SagaMachineState {
  if (stored.version === 2) return stored;
  return {
    ...stored,
    version: 2,
    retries: 0,
    active: stored.active ? [stored.active] : [],
    steps: stored.steps.map((step) => ({ ...step, spentMs: step.spentMs ?? 0 })),
  };
}

/** The earliest time something is due (a retry, a call watchdog, an unconfirmed emit), or null. */
export function nextWakeAt(state: SagaMachineState): number | null {
  const times = [...state.outbox.map((e) => e.dueAt), ...state.active.map((a) => a.dueAt)];
  return times.length === 0 ? null : Math.min(...times);
}

/** Whether the saga has come to rest (completed, cancelled or compensation_failed) with nothing out. */
export function hasEnded(state: SagaMachineState): boolean {
  return state.endedAt !== null && state.active.length === 0;
}

export type { SagaView };

const iso = (ms: number) => new Date(ms).toISOString();
const iso0 = (ms: number | null) => (ms === null ? null : iso(ms));
const errorText = (error: StepError) => `${error.code}: ${error.detail}`;

/** What GET /api/orders/:id shows as `saga`, with ISO timestamps. */
export function toSagaView(state: SagaMachineState): SagaView {
  return {
    state: state.status,
    ...(state.reason === null ? {} : { reason: state.reason }),
    steps: state.steps.map((step) => ({
      name: step.name,
      status: step.status,
      attempts: step.attempts,
      startedAt: iso0(step.startedAt),
      endedAt: iso0(step.endedAt),
      ...(step.error ? { error: errorText(step.error) } : {}),
      history: step.history.map((a) => ({
        attempt: a.attempt,
        startedAt: iso(a.startedAt),
        endedAt: iso0(a.endedAt),
        breaker: a.breaker?.breaker ?? null,
        called: a.breaker?.called ?? null,
        outcome: a.outcome,
        ...(a.error ? { error: errorText(a.error) } : {}),
      })),
    })),
  };
}

/**
 * What a customer sees of a saga: each step's and attempt's error code, never its detail (provider
 * endpoints, upstream messages and fetch errors stay in the admin view and the logs).
 */
export function customerSagaView(view: SagaView): SagaView {
  const code = (error: string | undefined) => (error === undefined ? {} : { error: error.split(":", 1)[0] as string });
  return {
    ...view,
    steps: view.steps.map(({ error, history, ...step }) => ({
      ...step,
      ...code(error),
      history: history.map(({ error: attemptError, ...attempt }) => ({ ...attempt, ...code(attemptError) })),
    })),
  };
}

// ---------------------------------------------------------------------------------------------
// The transition

interface Ctx {
  s: SagaMachineState;
  now: number;
  config: SagaConfig;
  random: () => number;
  commands: SagaCommand[];
  reply: Reply | null;
}

export function transition(
  state: SagaMachineState,
  event: SagaInput,
  now: number,
  config: SagaConfig,
  random: () => number,
): Transition {
  const ctx: Ctx = { s: structuredClone(state), now, config, random, commands: [], reply: null };
  switch (event.type) {
    case "start":
      onStart(ctx);
      break;
    case "step_result":
      onStepResult(ctx, event);
      break;
    case "alarm":
      onAlarm(ctx, false);
      break;
    case "resume":
      onAlarm(ctx, true);
      break;
    case "cancel":
      onCancel(ctx, event.by);
      break;
    case "refund":
      onRefund(ctx, event.by);
      break;
    case "retry":
      onRetry(ctx);
      break;
    case "emitted":
      ctx.s.outbox = ctx.s.outbox.filter((e) => e.id !== event.id);
      break;
  }
  const next = JSON.stringify(ctx.s) === JSON.stringify(state) ? state : ctx.s;
  return { state: next, commands: ctx.commands, wakeAt: nextWakeAt(next), reply: ctx.reply };
}

function record(s: SagaMachineState, name: StepName): StepRecord {
  const step = s.steps.find((r) => r.name === name);
  if (!step) throw new Error(`saga ${s.orderId} has no step ${name}`);
  return step;
}

function settle(s: SagaMachineState, active: ActiveStep): void {
  s.active = s.active.filter((a) => a !== active);
}

function onStart(ctx: Ctx): void {
  const { s } = ctx;
  // A started saga, and a cancelled one that never started (its tombstone), ignore it.
  if (s.startedAt !== null || s.status !== "running") return;
  s.startedAt = ctx.now;
  s.deadlineAt = ctx.now + ctx.config.deadlineMs;
  advance(ctx);
}

function onStepResult(ctx: Ctx, event: Extract<SagaInput, { type: "step_result" }>): void {
  const { s, now } = ctx;
  // Only the answer to a call out now counts; anything else is late, duplicated or forged.
  const active = s.active.find((a) => a.phase === "calling" && a.step === event.step && a.attempt === event.attempt);
  if (!active) return;
  const step = record(s, active.step);
  const attempt = step.history.find((a) => a.attempt === active.attempt);
  if (attempt) {
    attempt.endedAt = now;
    attempt.breaker = event.breaker;
  }
  settle(s, active);
  if (event.result.ok) {
    if (attempt) attempt.outcome = "succeeded";
    step.status = "succeeded";
    step.endedAt = now;
    step.mayHaveEffect = true;
    delete step.error;
    const spec = specOf(step.name);
    if (spec.flow === "compensation" && spec.compensates) {
      const undone = record(s, spec.compensates);
      if (undone.status === "succeeded") undone.status = "compensated";
    }
    advance(ctx);
    return;
  }
  const error: StepError = { code: event.result.code, detail: event.result.detail };
  if (attempt) {
    attempt.outcome = "failed";
    attempt.error = error;
  }
  const transient = isTransient(event.result.code);
  const reached = event.breaker === null || event.breaker.called;
  if (transient && reached) step.mayHaveEffect = true;
  onFailure(ctx, step, error, { transient, lost: false, reached });
}

/** The current call of `step` came back with no answer (restart or watchdog). */
function onLost(ctx: Ctx, active: ActiveStep, detail: string): void {
  const { s, now } = ctx;
  const step = record(s, active.step);
  const attempt = step.history.find((a) => a.attempt === active.attempt);
  const error: StepError = { code: "no_result", detail };
  if (attempt) {
    attempt.endedAt = now;
    attempt.outcome = "no_result";
    attempt.error = error;
  }
  settle(s, active);
  step.mayHaveEffect = true;
  onFailure(ctx, step, error, { transient: true, lost: true, reached: true });
}

interface Failure {
  transient: boolean;
  /** The answer never came: retry at once (the watchdog already waited). */
  lost: boolean;
  /** The call reached the dependency (or may have): false only when the breaker refused it. */
  reached: boolean;
}

/** The current attempt of `step` failed: retry it, or give up in the way its flow prescribes. */
function onFailure(ctx: Ctx, step: StepRecord, error: StepError, failure: Failure): void {
  const { s, now, config } = ctx;
  step.error = error;
  const spec = specOf(step.name);
  switch (spec.flow) {
    case "forward": {
      if (s.status === "compensating") {
        // A cancellation arrived while this call was out: no retry, compensate now.
        failStep(step, now);
        advance(ctx);
        return;
      }
      if (!spec.beforePivot) {
        // After the pivot there is no way back: every failure is retried, without a deadline.
        retry(ctx, step, config.backoff, Number.POSITIVE_INFINITY, failure.lost);
        return;
      }
      const deadlineAt = s.deadlineAt ?? now;
      if (!failure.transient) {
        failStep(step, now);
        beginCompensation(ctx, spec.reasons.business);
        advance(ctx);
        return;
      }
      if (now >= deadlineAt) {
        step.error = {
          code: "deadline_exceeded",
          detail: `no success within ${config.deadlineMs} ms (${step.attempts} attempts); last: ${error.code}: ${error.detail}`,
        };
        failStep(step, now);
        beginCompensation(ctx, spec.reasons.deadline);
        advance(ctx);
        return;
      }
      retry(ctx, step, config.backoff, deadlineAt, failure.lost);
      return;
    }
    case "refund":
      retry(ctx, step, config.backoff, Number.POSITIVE_INFINITY, failure.lost);
      return;
    case "compensation": {
      if (failure.reached) step.spentMs += now - lastMark(step);
      if (step.spentMs >= config.compensationBudgetMs) {
        step.error = {
          code: error.code,
          detail: `gave up after ${step.attempts} attempts and ${step.spentMs} ms of failures; last: ${error.detail}`,
        };
        failStep(step, now);
        advance(ctx);
        return;
      }
      retry(ctx, step, config.compensationBackoff, Number.POSITIVE_INFINITY, failure.lost);
      return;
    }
  }
}

/** Where the failure that just ended began to count: the end of the attempt before it, or the step's start. */
function lastMark(step: StepRecord): number {
  const ended = step.history.filter((a) => a.endedAt !== null);
  return ended.at(-2)?.endedAt ?? step.startedAt ?? 0;
}

/**
 * Schedules the next attempt of `step`: at once for a lost call (its timeout already waited),
 * otherwise after a full-jitter delay, never later than `notAfter` (the deadline before the pivot,
 * so the last attempt happens at it rather than never).
 */
function retry(ctx: Ctx, step: StepRecord, policy: BackoffPolicy, notAfter: number, immediately: boolean): void {
  if (immediately) {
    issue(ctx, step);
    return;
  }
  const dueAt = Math.min(ctx.now + fullJitterDelay(step.attempts, policy, ctx.random), notAfter);
  ctx.s.active.push({ step: step.name, attempt: step.attempts, phase: "waiting", dueAt });
}

function failStep(step: StepRecord, now: number): void {
  step.status = "failed";
  step.endedAt = now;
}

/** Issues the next attempt of `step`. */
function issue(ctx: Ctx, step: StepRecord): void {
  const { s, now, config } = ctx;
  const attempt = step.attempts + 1;
  step.attempts = attempt;
  step.status = "running";
  step.startedAt ??= now;
  step.history.push({ attempt, startedAt: now, endedAt: null, breaker: null, outcome: "in_flight" });
  if (step.history.length > config.attemptLogLimit)
    step.history.splice(0, step.history.length - config.attemptLogLimit);
  if (step.name === PIVOT_STEP && s.pivotAt === null) s.pivotAt = now;
  s.active.push({ step: step.name, attempt, phase: "calling", dueAt: now + config.callTimeoutMs });
  ctx.commands.push({
    type: "call",
    step: step.name,
    attempt,
    orderId: s.orderId,
    ...(step.name === FINAL_COMPENSATION && s.reason !== null ? { reason: s.reason } : {}),
  });
}

/** Stops the forward flow with `reason`; the plan is made once no forward call is out. */
function beginCompensation(ctx: Ctx, reason: CancelReason): void {
  ctx.s.status = "compensating";
  ctx.s.reason = reason;
}

/**
 * Plans the compensation: an undo for each forward step that may have taken effect (latest first),
 * then cancel_order. Forward steps never started are skipped. The compensations are independent of
 * each other, so they all run at once: a release and the cancellation do not wait for a void whose
 * provider is down.
 */
function planCompensation(s: SagaMachineState): void {
  for (const step of s.steps) if (step.flow === "forward" && step.status === "pending") step.status = "skipped";
  const plan: StepName[] = [];
  for (const name of [...FORWARD_STEPS].reverse()) {
    const spec = specOf(name);
    if (spec.flow === "forward" && spec.beforePivot && record(s, name).mayHaveEffect) plan.push(spec.compensation);
  }
  plan.push(FINAL_COMPENSATION);
  s.steps.push(...plan.map(newStep));
  s.flow = "compensation";
}

const isActive = (s: SagaMachineState, name: StepName) => s.active.some((a) => a.step === name);

/** Moves the saga on: issues what may run now, or ends the flow it was in. */
function advance(ctx: Ctx): void {
  const { s, now } = ctx;
  for (;;) {
    switch (s.flow) {
      case "forward": {
        if (s.active.length > 0) return;
        if (s.status === "compensating") {
          planCompensation(s);
          continue;
        }
        if (s.status !== "running" || s.startedAt === null) return;
        const next = s.steps.find((step) => step.flow === "forward" && step.status === "pending");
        if (next) {
          issue(ctx, next);
          return;
        }
        s.endedAt = now;
        s.status = "completed";
        emit(ctx, "order.saga.completed");
        if (!s.refund) return;
        startRefund(s);
        continue;
      }
      case "compensation": {
        if (s.status !== "compensating") return;
        for (const step of s.steps) {
          if (step.flow === "compensation" && step.status === "pending" && !isActive(s, step.name)) issue(ctx, step);
        }
        if (s.active.length > 0) return;
        s.endedAt = now;
        const failed = s.steps.find((step) => step.flow === "compensation" && step.status === "failed");
        if (failed) {
          s.status = "compensation_failed";
          emit(ctx, "order.saga.compensation_failed", failed.name);
        } else {
          s.status = "cancelled";
          emit(ctx, "order.saga.failed");
        }
        return;
      }
      case "refund": {
        if (s.status !== "running" || s.active.length > 0) return;
        const next = s.steps.find((step) => step.flow === "refund" && step.status === "pending");
        if (next) {
          issue(ctx, next);
          return;
        }
        // A refunded order is cancelled with net charge zero and its stock back.
        s.endedAt = now;
        s.status = "cancelled";
        return;
      }
    }
  }
}

function startRefund(s: SagaMachineState): void {
  s.flow = "refund";
  s.status = "running";
  s.endedAt = null;
  s.steps.push(...REFUND_STEPS.map(newStep));
}

/** Each raise of an event has its own id: a compensation that fails again after a retry is raised again. */
function emitId(s: SagaMachineState, event: SagaEventType): string {
  const base = `${s.orderId}:${event}`;
  return event === "order.saga.compensation_failed" && s.retries > 0 ? `${base}:${s.retries}` : base;
}

function emit(ctx: Ctx, event: SagaEventType, step?: StepName): void {
  const { s } = ctx;
  const pending: PendingEmit = {
    id: emitId(s, event),
    event,
    data: {
      orderId: s.orderId,
      state: s.status,
      ...(event === "order.saga.completed" || s.reason === null ? {} : { reason: s.reason }),
      ...(step === undefined ? {} : { step }),
    },
    dueAt: ctx.now + ctx.config.callTimeoutMs,
  };
  s.outbox.push(pending);
  ctx.commands.push({ type: "emit", id: pending.id, event, data: pending.data });
}

/** `alarm`: whatever is due runs. `resume`: the object restarted, so every call out is lost at once. */
function onAlarm(ctx: Ctx, restarted: boolean): void {
  const { s, now, config } = ctx;
  for (const pending of s.outbox) {
    if (restarted || pending.dueAt <= now) {
      pending.dueAt = now + config.callTimeoutMs;
      ctx.commands.push({ type: "emit", id: pending.id, event: pending.event, data: pending.data });
    }
  }
  for (const active of [...s.active]) {
    if (active.phase === "calling" && (restarted || active.dueAt <= now)) {
      const why = restarted
        ? "the saga restarted while the call was out"
        : `no answer within ${config.callTimeoutMs} ms`;
      onLost(ctx, active, why);
    } else if (active.phase === "waiting" && active.dueAt <= now && s.active.includes(active)) {
      settle(s, active);
      issue(ctx, record(s, active.step));
    }
  }
  advance(ctx);
}

function onCancel(ctx: Ctx, by: Canceller): void {
  const { s, now } = ctx;
  const reason: CancelReason = by === "customer" ? "cancelled_by_customer" : "cancelled_by_admin";
  if (s.status === "cancelled" || s.status === "compensation_failed") {
    ctx.reply = { accepted: false, refused: s.status, reason: s.reason };
    return;
  }
  if (s.status === "compensating") {
    // A repeated cancel is accepted again (idempotent); any other compensation keeps its reason.
    ctx.reply = s.cancel
      ? { accepted: true, reason: s.reason ?? reason }
      : { accepted: false, refused: "compensating", reason: s.reason };
    return;
  }
  if (s.pivotAt !== null) {
    ctx.reply = { accepted: false, refused: "past_pivot", reason: s.reason };
    return;
  }
  // Not started yet: this leaves a tombstone (a later `start` does nothing) and only cancels the order.
  s.cancel = { by, at: now };
  beginCompensation(ctx, reason);
  ctx.reply = { accepted: true, reason };
  for (const active of [...s.active]) {
    if (active.phase !== "waiting") continue;
    // Between attempts nothing is out: stop retrying and compensate now.
    const step = record(s, active.step);
    settle(s, active);
    step.error = { code: "cancelled", detail: `cancelled by the ${by} after ${step.attempts} attempt(s)` };
    failStep(step, now);
  }
  // With a call out, compensation waits for its answer (or its loss): a reservation or an
  // authorisation that lands after the cancel must be undone too, and undoing it before it lands
  // would undo nothing.
  advance(ctx);
}

function onRefund(ctx: Ctx, by: Canceller): void {
  const { s, now } = ctx;
  if (s.pivotAt === null) {
    ctx.reply = { accepted: false, refused: "not_confirmed" };
    return;
  }
  if (s.refund) {
    ctx.reply = { accepted: true, queued: s.flow === "forward" };
    return;
  }
  s.refund = { by, at: now };
  s.reason = by === "customer" ? "cancelled_by_customer" : "cancelled_by_admin";
  if (s.status === "completed") {
    startRefund(s);
    advance(ctx);
    ctx.reply = { accepted: true, queued: false };
  } else {
    ctx.reply = { accepted: true, queued: true };
  }
}

function onRetry(ctx: Ctx): void {
  const { s } = ctx;
  if (s.status !== "compensation_failed") {
    // A repeat of an accepted retry (still running, or done) is accepted again and changes nothing.
    ctx.reply =
      s.retries > 0 && (s.status === "compensating" || s.status === "cancelled")
        ? { accepted: true }
        : { accepted: false, refused: s.status };
    return;
  }
  s.retries += 1;
  s.status = "compensating";
  s.endedAt = null;
  for (const step of s.steps) {
    if (step.flow !== "compensation" || step.status !== "failed") continue;
    step.status = "pending";
    step.endedAt = null;
    step.spentMs = 0;
  }
  ctx.reply = { accepted: true };
  advance(ctx);
}
