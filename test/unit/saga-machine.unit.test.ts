import { describe, expect, it } from "vitest";
import type { CancelReason } from "#shared/contracts/orders";
import type { ErrorCode } from "#shared/errors";
import {
  DEFAULT_SAGA_CONFIG,
  hasEnded,
  initialSaga,
  nextWakeAt,
  type Reply,
  type SagaCommand,
  type SagaConfig,
  type SagaInput,
  type SagaMachineState,
  type StepRecord,
  sagaConfig,
  type Transition,
  toSagaView,
  transition,
} from "../../workers/orders/src/saga/machine";
import { FORWARD_STEPS, STEPS, type StepName } from "../../workers/orders/src/saga/steps";

const ORDER = "ord_01jq0000000000000000000000";
const T0 = Date.parse("2025-03-01T10:00:00.000Z");
const CONFIG: SagaConfig = DEFAULT_SAGA_CONFIG;
const DEADLINE = T0 + CONFIG.deadlineMs;
const half = () => 0.5;

/** A small deterministic PRNG, so "random" runs replay exactly. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/** One transition; the input state is frozen, so a machine that mutated it would throw. */
function apply(
  state: SagaMachineState,
  event: SagaInput,
  now: number,
  random: () => number = half,
  config: SagaConfig = CONFIG,
): Transition {
  const snapshot = JSON.stringify(state);
  const result = transition(deepFreeze(state), event, now, config, random);
  expect(JSON.stringify(state)).toBe(snapshot);
  // Plain JSON all the way: what is stored is what comes back.
  expect(JSON.parse(JSON.stringify(result.state))).toEqual(result.state);
  return result;
}

const call = (step: StepName, attempt: number, reason?: CancelReason): SagaCommand => ({
  type: "call",
  step,
  attempt,
  orderId: ORDER,
  ...(reason ? { reason } : {}),
});
const ok = (step: StepName, attempt: number, breaker: "closed" | "half_open" | null = "closed"): SagaInput => ({
  type: "step_result",
  step,
  attempt,
  result: { ok: true },
  breaker: breaker === null ? null : { breaker, called: true },
});
const failed = (step: StepName, attempt: number, code: ErrorCode, called = true): SagaInput => ({
  type: "step_result",
  step,
  attempt,
  result: { ok: false, code, detail: `${code} detail` },
  breaker: STEPS[step].breaker ? { breaker: called ? "closed" : "open", called } : null,
});
const okLocal = (step: StepName, attempt: number): SagaInput =>
  ok(step, attempt, STEPS[step].breaker ? "closed" : null);

const stepOf = (state: SagaMachineState, name: StepName): StepRecord => {
  const step = state.steps.find((s) => s.name === name);
  if (!step) throw new Error(`no step ${name}`);
  return step;
};
const statuses = (state: SagaMachineState) => Object.fromEntries(state.steps.map((s) => [s.name, s.status]));

/** Drives events in order, each at its time, and returns the last transition. */
function drive(events: [SagaInput, number][], random: () => number = half, config: SagaConfig = CONFIG): Transition {
  let t: Transition = {
    state: initialSaga(ORDER, T0),
    commands: [],
    wakeAt: null,
    reply: null,
  };
  for (const [event, at] of events) t = apply(t.state, event, at, random, config);
  return t;
}

// ---------------------------------------------------------------------------------------------
// A simulator playing the Durable Object wrapper: it performs each command with a scripted
// answer (latency 0), confirms emits, and when idle jumps the clock to `wakeAt` and fires the alarm.

/** A scripted answer to one attempt. `open`: the breaker refused (no call made). `lost`: no answer. */
type Answer = "ok" | "lost" | ErrorCode | { code: ErrorCode; open: true };
type Script = Partial<Record<StepName, Answer[]>>;

interface Interrupt {
  /** Fires when this call is issued, before its answer is fed back (so the call is in flight). */
  step: StepName;
  attempt: number;
  event: SagaInput;
}

interface SimOptions {
  random?: () => number;
  config?: SagaConfig;
  interrupts?: Interrupt[];
  /** Leave emits unconfirmed. */
  dropEmits?: boolean;
}

interface Run {
  state: SagaMachineState;
  calls: { step: StepName; attempt: number; at: number; reason?: CancelReason }[];
  emits: Extract<SagaCommand, { type: "emit" }>[];
  replies: Reply[];
  maxInFlight: number;
}

function answerFor(step: StepName, attempt: number, answer: Answer): SagaInput | null {
  if (answer === "lost") return null;
  if (answer === "ok") return okLocal(step, attempt);
  if (typeof answer === "object") return failed(step, attempt, answer.code, false);
  return failed(step, attempt, answer, true);
}

function simulate(script: Script, options: SimOptions = {}, start: SagaInput[] = [{ type: "start" }]): Run {
  const random = options.random ?? half;
  const config = options.config ?? CONFIG;
  const interrupts = [...(options.interrupts ?? [])];
  let now = T0;
  let state = initialSaga(ORDER, T0);
  let wakeAt: number | null = null;
  const run: Run = { state, calls: [], emits: [], replies: [], maxInFlight: 0 };
  const queue: SagaCommand[] = [];
  const feed = (event: SagaInput) => {
    const t = apply(state, event, now, random, config);
    state = t.state;
    wakeAt = t.wakeAt;
    expect(t.wakeAt).toBe(nextWakeAt(t.state));
    if (t.reply) run.replies.push(t.reply);
    queue.push(...t.commands);
    // Forward and refund steps run one at a time (compensations run side by side).
    const inFlight = t.commands.filter((c) => c.type === "call" && STEPS[c.step].flow !== "compensation").length;
    run.maxInFlight = Math.max(run.maxInFlight, inFlight);
  };
  for (const event of start) feed(event);
  for (let guard = 0; guard < 5_000; guard++) {
    const command = queue.shift();
    if (command?.type === "call") {
      run.calls.push({
        step: command.step,
        attempt: command.attempt,
        at: now,
        ...(command.reason ? { reason: command.reason } : {}),
      });
      const hit = interrupts.findIndex((i) => i.step === command.step && i.attempt === command.attempt);
      if (hit >= 0) {
        const [interrupt] = interrupts.splice(hit, 1);
        if (interrupt) feed(interrupt.event);
      }
      const answer = answerFor(command.step, command.attempt, script[command.step]?.[command.attempt - 1] ?? "ok");
      if (answer) feed(answer);
      continue;
    }
    if (command?.type === "emit") {
      run.emits.push(command);
      if (!options.dropEmits) feed({ type: "emitted", id: command.id });
      continue;
    }
    if (wakeAt === null) break;
    if (options.dropEmits && hasEnded(state)) break;
    now = Math.max(now, wakeAt);
    feed({ type: "alarm" });
  }
  run.state = state;
  return run;
}

const trace = (run: Run) => run.calls.map((c) => `${c.step}#${c.attempt}`);
const gaps = (run: Run, step: StepName) => {
  const at = run.calls.filter((c) => c.step === step).map((c) => c.at);
  return at.slice(1).map((t, i) => t - (at[i] as number));
};
const always = (answer: Answer, times = 200): Answer[] => Array.from({ length: times }, () => answer);
const times = (answer: Answer, n: number): Answer[] => Array.from({ length: n }, () => answer);

const HAPPY = ["reserve_stock#1", "authorize_payment#1", "confirm_order#1", "commit_stock#1", "capture_payment#1"];

// ---------------------------------------------------------------------------------------------

describe("the step table", () => {
  it("runs the forward steps of SPEC.md in order, with confirm_order as the pivot", () => {
    expect(FORWARD_STEPS).toEqual([
      "reserve_stock",
      "authorize_payment",
      "confirm_order",
      "commit_stock",
      "capture_payment",
    ]);
    expect(FORWARD_STEPS.filter((s) => STEPS[s].beforePivot)).toEqual(["reserve_stock", "authorize_payment"]);
  });

  it.each([
    ["reserve_stock", "catalog", "reserve", true],
    ["authorize_payment", "payments", "authorize", true],
    ["confirm_order", "orders", "confirm", false],
    ["commit_stock", "catalog", "commit", true],
    ["capture_payment", "payments", "capture", true],
    ["void_payment", "payments", "void", true],
    ["release_stock", "catalog", "release", true],
    ["cancel_order", "orders", "cancel", false],
    ["refund_payment", "payments", "refund", true],
    ["return_stock", "catalog", "returnToStock", true],
  ] as const)("%s calls %s.%s (through a breaker: %s)", async (step, target, method, breaker) => {
    expect(STEPS[step]).toMatchObject({ target, breaker });
    // The table's own call decides what is called: record every port method it reaches.
    const calls: { target: string; method: string; args: unknown[] }[] = [];
    const recorder = (name: string) =>
      new Proxy(
        {},
        {
          get:
            (_t, m) =>
            async (...args: unknown[]) => {
              calls.push({ target: name, method: String(m), args });
              return { ok: true, value: null };
            },
        },
      );
    const ports = { catalog: recorder("catalog"), payments: recorder("payments"), orders: recorder("orders") };
    const plan = {
      orderId: ORDER,
      userId: "usr_x",
      lines: [{ productId: "prd_x", quantity: 2 }],
      amountCents: 500,
      currency: "EUR",
    };
    const context = { traceparent: null };
    const result = await STEPS[step].call(ports as never, plan, context, "out_of_stock");
    expect(result).toEqual({ ok: true, value: null });
    expect(calls.map((c) => `${c.target}.${c.method}`)).toEqual([`${target}.${method}`]);
    expect(calls[0]?.args[0]).toEqual(
      method === "authorize" ? { orderId: ORDER, amountCents: 500, currency: "EUR" } : ORDER,
    );
    if (method === "reserve") expect(calls[0]?.args[1]).toEqual(plan.lines);
    if (method === "cancel") expect(calls[0]?.args[1]).toBe("out_of_stock");
  });
});

describe("the success path", () => {
  it("start issues reserve_stock attempt 1 and wakes at its call watchdog", () => {
    const t = apply(initialSaga(ORDER, T0), { type: "start" }, T0);
    expect(t.commands).toEqual([call("reserve_stock", 1)]);
    expect(t.wakeAt).toBe(T0 + 60_000);
    expect(t.reply).toBeNull();
    expect(t.state).toMatchObject({
      status: "running",
      flow: "forward",
      startedAt: T0,
      deadlineAt: T0 + 120_000,
      pivotAt: null,
      active: [{ step: "reserve_stock", attempt: 1, phase: "calling", dueAt: T0 + 60_000 }],
    });
    expect(statuses(t.state)).toEqual({
      reserve_stock: "running",
      authorize_payment: "pending",
      confirm_order: "pending",
      commit_stock: "pending",
      capture_payment: "pending",
    });
  });

  it("each success issues exactly the next step, and the last one completes the saga", () => {
    let t = apply(initialSaga(ORDER, T0), { type: "start" }, T0);
    const expected: [SagaInput, SagaCommand[]][] = [
      [ok("reserve_stock", 1), [call("authorize_payment", 1)]],
      [ok("authorize_payment", 1), [call("confirm_order", 1)]],
      [ok("confirm_order", 1, null), [call("commit_stock", 1)]],
      [ok("commit_stock", 1), [call("capture_payment", 1)]],
      [
        ok("capture_payment", 1),
        [
          {
            type: "emit",
            id: `${ORDER}:order.saga.completed`,
            event: "order.saga.completed",
            data: { orderId: ORDER, state: "completed" },
          },
        ],
      ],
    ];
    let at = T0;
    for (const [event, commands] of expected) {
      at += 10;
      t = apply(t.state, event, at);
      expect(t.commands).toEqual(commands);
    }
    expect(t.state).toMatchObject({
      status: "completed",
      reason: null,
      endedAt: T0 + 50,
      pivotAt: T0 + 20,
      active: [],
    });
    expect(t.wakeAt).toBe(T0 + 50 + 60_000); // the unconfirmed emit
    t = apply(t.state, { type: "emitted", id: `${ORDER}:order.saga.completed` }, T0 + 51);
    expect(t.commands).toEqual([]);
    expect(t.wakeAt).toBeNull();
    expect(hasEnded(t.state)).toBe(true);
    expect(Object.values(statuses(t.state))).toEqual(Array(5).fill("succeeded"));
  });

  it("start is idempotent", () => {
    const started = apply(initialSaga(ORDER, T0), { type: "start" }, T0).state;
    const again = apply(started, { type: "start" }, T0 + 5);
    expect(again.state).toBe(started);
    expect(again.commands).toEqual([]);
  });

  it("a saga not started does nothing on alarm or resume", () => {
    const fresh = initialSaga(ORDER, T0);
    for (const event of [{ type: "alarm" }, { type: "resume" }] as SagaInput[]) {
      const t = apply(fresh, event, T0 + 1);
      expect(t.state).toBe(fresh);
      expect(t.commands).toEqual([]);
      expect(t.wakeAt).toBeNull();
    }
  });

  it("the simulator agrees: five calls, one emit, completed", () => {
    const run = simulate({});
    expect(trace(run)).toEqual(HAPPY);
    expect(run.emits.map((e) => e.event)).toEqual(["order.saga.completed"]);
    expect(run.state.status).toBe("completed");
    expect(run.state.outbox).toEqual([]);
    expect(run.maxInFlight).toBe(1);
  });
});

describe("a business failure before the pivot compensates at once, in reverse", () => {
  it.each([
    {
      label: "reserve_stock: out_of_stock",
      script: { reserve_stock: ["out_of_stock"] } as Script,
      calls: ["reserve_stock#1", "cancel_order#1"],
      reason: "out_of_stock",
      steps: {
        reserve_stock: "failed",
        authorize_payment: "skipped",
        confirm_order: "skipped",
        commit_stock: "skipped",
        capture_payment: "skipped",
        cancel_order: "succeeded",
      },
    },
    {
      label: "reserve_stock: another business code (a product vanished)",
      script: { reserve_stock: ["not_found"] } as Script,
      calls: ["reserve_stock#1", "cancel_order#1"],
      reason: "out_of_stock",
      steps: {
        reserve_stock: "failed",
        authorize_payment: "skipped",
        confirm_order: "skipped",
        commit_stock: "skipped",
        capture_payment: "skipped",
        cancel_order: "succeeded",
      },
    },
    {
      label: "authorize_payment: payment_declined",
      script: { authorize_payment: ["payment_declined"] } as Script,
      calls: ["reserve_stock#1", "authorize_payment#1", "release_stock#1", "cancel_order#1"],
      reason: "payment_declined",
      steps: {
        reserve_stock: "compensated",
        authorize_payment: "failed",
        confirm_order: "skipped",
        commit_stock: "skipped",
        capture_payment: "skipped",
        release_stock: "succeeded",
        cancel_order: "succeeded",
      },
    },
    {
      label: "authorize_payment: declined after a timeout that reached the provider (void anyway)",
      script: { authorize_payment: ["timeout", "payment_declined"] } as Script,
      calls: [
        "reserve_stock#1",
        "authorize_payment#1",
        "authorize_payment#2",
        "void_payment#1",
        "release_stock#1",
        "cancel_order#1",
      ],
      reason: "payment_declined",
      steps: {
        reserve_stock: "compensated",
        authorize_payment: "failed",
        confirm_order: "skipped",
        commit_stock: "skipped",
        capture_payment: "skipped",
        void_payment: "succeeded",
        release_stock: "succeeded",
        cancel_order: "succeeded",
      },
    },
    {
      label: "reserve_stock: out_of_stock after a refused attempt (breaker open, nothing reached)",
      script: { reserve_stock: [{ code: "unavailable", open: true }, "out_of_stock"] } as Script,
      calls: ["reserve_stock#1", "reserve_stock#2", "cancel_order#1"],
      reason: "out_of_stock",
      steps: {
        reserve_stock: "failed",
        authorize_payment: "skipped",
        confirm_order: "skipped",
        commit_stock: "skipped",
        capture_payment: "skipped",
        cancel_order: "succeeded",
      },
    },
  ])("$label", ({ script, calls, reason, steps }) => {
    const run = simulate(script);
    expect(trace(run)).toEqual(calls);
    expect(run.calls.at(-1)).toMatchObject({ step: "cancel_order", reason });
    expect(run.state).toMatchObject({ status: "cancelled", reason, pivotAt: null, active: [] });
    expect(statuses(run.state)).toEqual(steps);
    expect(run.emits).toEqual([
      {
        type: "emit",
        id: `${ORDER}:order.saga.failed`,
        event: "order.saga.failed",
        data: { orderId: ORDER, state: "cancelled", reason },
      },
    ]);
  });

  it("the failing answer itself issues every compensation in the same transition", () => {
    const t = drive([
      [{ type: "start" }, T0],
      [ok("reserve_stock", 1), T0 + 1],
      [failed("authorize_payment", 1, "payment_declined"), T0 + 2],
    ]);
    expect(t.commands).toEqual([call("release_stock", 1), call("cancel_order", 1, "payment_declined")]);
    expect(t.state).toMatchObject({ status: "compensating", flow: "compensation", reason: "payment_declined" });
    expect(stepOf(t.state, "authorize_payment")).toMatchObject({
      status: "failed",
      endedAt: T0 + 2,
      error: { code: "payment_declined", detail: "payment_declined detail" },
    });
    const next = apply(t.state, ok("release_stock", 1), T0 + 3);
    expect(next.commands).toEqual([]);
    expect(next.state.status).toBe("compensating");
    const done = apply(next.state, okLocal("cancel_order", 1), T0 + 4);
    expect(done.state.status).toBe("cancelled");
  });
});

describe("transient failures are retried with full-jitter backoff", () => {
  const cases = FORWARD_STEPS.flatMap((step) =>
    (["unavailable", "timeout", "bad_gateway", "internal"] as const).map((code) => ({ step, code })),
  );

  it.each(cases)("$step: $code three times, then success", ({ step, code }) => {
    const run = simulate({ [step]: [code, code, code, "ok"] });
    expect(trace(run).filter((c) => c.startsWith(step))).toEqual([`${step}#1`, `${step}#2`, `${step}#3`, `${step}#4`]);
    // random() = 0.5: half of each ceiling min(10 s, 200 ms * 2^(n-1)).
    expect(gaps(run, step)).toEqual([100, 200, 400]);
    expect(run.state.status).toBe("completed");
    const record = stepOf(run.state, step);
    expect(record).toMatchObject({ status: "succeeded", attempts: 4 });
    expect(record.error).toBeUndefined();
    expect(record.history.map((a) => [a.attempt, a.outcome, a.error?.code])).toEqual([
      [1, "failed", code],
      [2, "failed", code],
      [3, "failed", code],
      [4, "succeeded", undefined],
    ]);
    expect(run.state.steps.map((s) => s.name)).toEqual(FORWARD_STEPS); // nothing compensated
  });

  it("a failure schedules the retry as the wake-up time, with the step still running", () => {
    const t = drive([
      [{ type: "start" }, T0],
      [failed("reserve_stock", 1, "unavailable"), T0 + 30],
    ]);
    expect(t.commands).toEqual([]);
    expect(t.wakeAt).toBe(T0 + 30 + 100);
    expect(t.state.active).toEqual([{ step: "reserve_stock", attempt: 1, phase: "waiting", dueAt: T0 + 130 }]);
    expect(stepOf(t.state, "reserve_stock")).toMatchObject({
      status: "running",
      attempts: 1,
      error: { code: "unavailable", detail: "unavailable detail" },
    });
    const early = apply(t.state, { type: "alarm" }, T0 + 129);
    expect(early.state).toBe(t.state);
    expect(early.commands).toEqual([]);
    const due = apply(t.state, { type: "alarm" }, T0 + 130);
    expect(due.commands).toEqual([call("reserve_stock", 2)]);
    expect(due.wakeAt).toBe(T0 + 130 + 60_000);
  });

  it.each([1, 7, 42, 2025])("delays stay within [0, ceiling] for seed %i", (seed) => {
    const run = simulate({ commit_stock: times("unavailable", 12) }, { random: mulberry32(seed) });
    const ceilings = Array.from({ length: 12 }, (_, i) => Math.min(10_000, 200 * 2 ** i));
    const delays = gaps(run, "commit_stock");
    expect(delays).toHaveLength(12);
    delays.forEach((delay, i) => {
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(ceilings[i] as number);
    });
    expect(new Set(delays).size).toBeGreaterThan(1); // jittered, not fixed
    expect(run.state.status).toBe("completed");
  });

  it("uses the configured backoff", () => {
    const config = { ...CONFIG, backoff: { baseMs: 1_000, capMs: 3_000 } };
    const run = simulate({ reserve_stock: times("timeout", 4) }, { config });
    expect(gaps(run, "reserve_stock")).toEqual([500, 1_000, 1_500, 1_500]);
  });

  it("a refused call (breaker open) is retried like any transient failure", () => {
    const run = simulate({
      authorize_payment: [
        { code: "unavailable", open: true },
        { code: "unavailable", open: true },
      ],
    });
    expect(trace(run)).toEqual([
      "reserve_stock#1",
      "authorize_payment#1",
      "authorize_payment#2",
      "authorize_payment#3",
      "confirm_order#1",
      "commit_stock#1",
      "capture_payment#1",
    ]);
    expect(stepOf(run.state, "authorize_payment").history.map((a) => a.breaker)).toEqual([
      { breaker: "open", called: false },
      { breaker: "open", called: false },
      { breaker: "closed", called: true },
    ]);
  });
});

/** Attempt times of a step failing from `from` until the deadline (random 0.5, default backoff). */
function expectedSchedule(from: number): number[] {
  const at = [from];
  for (let n = 1; ; n++) {
    const last = at[at.length - 1] as number;
    if (last >= DEADLINE) return at;
    at.push(Math.min(last + Math.floor(0.5 * Math.min(10_000, 200 * 2 ** (n - 1))), DEADLINE));
  }
}

describe("transient failures before the pivot end at the deadline with a compensation", () => {
  it.each([
    {
      step: "reserve_stock" as const,
      answer: "unavailable" as Answer,
      after: ["release_stock#1", "cancel_order#1"],
      reason: "out_of_stock",
    },
    {
      step: "reserve_stock" as const,
      answer: { code: "unavailable", open: true } as Answer,
      after: ["cancel_order#1"], // never reached the catalog: nothing to release
      reason: "out_of_stock",
    },
    {
      step: "authorize_payment" as const,
      answer: "timeout" as Answer,
      after: ["void_payment#1", "release_stock#1", "cancel_order#1"],
      reason: "payment_unavailable",
    },
    {
      step: "authorize_payment" as const,
      answer: { code: "unavailable", open: true } as Answer,
      after: ["release_stock#1", "cancel_order#1"],
      reason: "payment_unavailable",
    },
  ])("$step failing ($answer) until the deadline -> $reason", ({ step, answer, after, reason }) => {
    const run = simulate({ [step]: always(answer) });
    const attempts = run.calls.filter((c) => c.step === step);
    expect(attempts.map((c) => c.at)).toEqual(expectedSchedule(T0));
    expect(attempts).toHaveLength(30);
    expect(attempts.at(-1)?.at).toBe(DEADLINE); // one last try at the deadline, none after
    expect(trace(run).slice(-after.length)).toEqual(after);
    expect(run.calls.at(-1)).toMatchObject({ step: "cancel_order", reason, at: DEADLINE });
    expect(run.state).toMatchObject({ status: "cancelled", reason, pivotAt: null });
    const record = stepOf(run.state, step);
    expect(record.status).toBe("failed");
    expect(record.error?.code).toBe("deadline_exceeded");
    expect(record.error?.detail).toMatch(/^no success within 120000 ms \(30 attempts\); last: unavailable|timeout/);
    expect(run.emits.map((e) => [e.event, e.data.reason])).toEqual([["order.saga.failed", reason]]);
  });

  it("honours a configured deadline", () => {
    const config = { ...CONFIG, deadlineMs: 1_000 };
    const run = simulate({ reserve_stock: always("unavailable") }, { config });
    expect(run.calls.filter((c) => c.step === "reserve_stock").map((c) => c.at - T0)).toEqual([
      0, 100, 300, 700, 1_000,
    ]);
    expect(run.state).toMatchObject({ status: "cancelled", reason: "out_of_stock" });
  });

  it("the deadline counts from the saga's start, not from the failing step's", () => {
    // reserve_stock takes 100 s to succeed; authorize_payment then has only ~20 s left.
    const config = { ...CONFIG, backoff: { baseMs: 100_000, capMs: 100_000 } };
    const t = drive(
      [
        [{ type: "start" }, T0],
        [failed("reserve_stock", 1, "unavailable"), T0],
        [{ type: "alarm" }, T0 + 50_000],
        [ok("reserve_stock", 2), T0 + 100_000],
        [failed("authorize_payment", 1, "unavailable"), T0 + 100_000],
      ],
      half,
      config,
    );
    expect(t.state.active).toEqual([{ step: "authorize_payment", attempt: 1, phase: "waiting", dueAt: DEADLINE }]);
    const last = apply(t.state, { type: "alarm" }, DEADLINE, half, config);
    expect(last.commands).toEqual([call("authorize_payment", 2)]);
    const end = apply(last.state, failed("authorize_payment", 2, "unavailable"), DEADLINE + 5, half, config);
    expect(end.commands).toEqual([
      call("void_payment", 1),
      call("release_stock", 1),
      call("cancel_order", 1, "payment_unavailable"),
    ]);
    expect(end.state.reason).toBe("payment_unavailable");
  });

  it("an alarm that comes late still makes the scheduled attempt, and its failure compensates", () => {
    const t = drive([
      [{ type: "start" }, T0],
      [failed("reserve_stock", 1, "unavailable"), DEADLINE - 10],
    ]);
    expect(t.wakeAt).toBe(DEADLINE); // clamped
    const late = apply(t.state, { type: "alarm" }, DEADLINE + 5_000);
    expect(late.commands).toEqual([call("reserve_stock", 2)]);
    const end = apply(late.state, failed("reserve_stock", 2, "unavailable"), DEADLINE + 5_001);
    expect(end.commands).toEqual([call("release_stock", 1), call("cancel_order", 1, "out_of_stock")]);
  });
});

describe("after the pivot the saga only goes forward", () => {
  it.each([
    { step: "confirm_order" as const, answer: "internal" as Answer },
    { step: "commit_stock" as const, answer: "unavailable" as Answer },
    { step: "commit_stock" as const, answer: { code: "unavailable", open: true } as Answer },
    { step: "capture_payment" as const, answer: "timeout" as Answer },
    { step: "capture_payment" as const, answer: "conflict" as Answer }, // even a non-transient answer
  ])("$step failing ($answer) 40 times, past the deadline, is retried until it succeeds", ({ step, answer }) => {
    const run = simulate({ [step]: times(answer, 40) });
    const attempts = run.calls.filter((c) => c.step === step);
    expect(attempts).toHaveLength(41);
    // 100+200+400+800+1600+3200 ms, then 34 x 5 s (half the 10 s cap): 176.3 s, well past the deadline.
    expect(attempts.at(-1)?.at).toBe(T0 + 176_300);
    expect(run.state.status).toBe("completed");
    expect(run.state.reason).toBeNull();
    expect(run.state.steps.map((s) => s.name)).toEqual(FORWARD_STEPS);
    expect(stepOf(run.state, step)).toMatchObject({ status: "succeeded", attempts: 41 });
    // The history keeps the latest 20 attempts; the count keeps them all.
    expect(stepOf(run.state, step).history.map((a) => a.attempt)).toEqual(Array.from({ length: 20 }, (_, i) => 22 + i));
    expect(run.emits.map((e) => e.event)).toEqual(["order.saga.completed"]);
  });

  it("the retry delay after the pivot is capped but never clamped to the deadline", () => {
    const t = drive([
      [{ type: "start" }, T0],
      [ok("reserve_stock", 1), T0],
      [ok("authorize_payment", 1), T0],
      [ok("confirm_order", 1, null), T0],
      [failed("commit_stock", 1, "unavailable"), DEADLINE + 1],
    ]);
    expect(t.state.active).toEqual([{ step: "commit_stock", attempt: 1, phase: "waiting", dueAt: DEADLINE + 101 }]);
    expect(t.state.status).toBe("running");
  });
});

describe("compensations are independent and outlast an incident", () => {
  const OUTAGE = { authorize_payment: always("timeout", 40), void_payment: always("unavailable", 150) } as Script;

  it("a long provider outage: the stock is released and the order cancelled at once while the void keeps trying", () => {
    const run = simulate(OUTAGE);
    const voids = run.calls.filter((c) => c.step === "void_payment");
    const release = run.calls.find((c) => c.step === "release_stock");
    const cancel = run.calls.find((c) => c.step === "cancel_order");
    // All three compensations are issued together, at the deadline.
    expect(release?.at).toBe(voids[0]?.at);
    expect(cancel?.at).toBe(voids[0]?.at);
    expect(cancel?.reason).toBe("payment_unavailable");
    // 150 failed voids (far past the old limit of 10), then the provider is back.
    expect(voids).toHaveLength(151);
    expect(run.state).toMatchObject({ status: "cancelled", reason: "payment_unavailable", active: [] });
    expect(statuses(run.state)).toMatchObject({
      authorize_payment: "failed",
      reserve_stock: "compensated",
      void_payment: "succeeded",
      release_stock: "succeeded",
      cancel_order: "succeeded",
    });
    expect(run.emits.map((e) => e.event)).toEqual(["order.saga.failed"]);
  });

  it("while the void waits, the saga stays compensating with the order already cancelled", () => {
    const t = drive([
      [{ type: "start" }, T0],
      [ok("reserve_stock", 1), T0 + 1],
      [failed("authorize_payment", 1, "timeout"), DEADLINE],
      [failed("void_payment", 1, "unavailable"), DEADLINE + 1],
      [ok("release_stock", 1), DEADLINE + 2],
      [okLocal("cancel_order", 1), DEADLINE + 3],
    ]);
    expect(statuses(t.state)).toMatchObject({
      void_payment: "running",
      release_stock: "succeeded",
      cancel_order: "succeeded",
    });
    expect(t.state.status).toBe("compensating");
    expect(t.state.active).toEqual([{ step: "void_payment", attempt: 1, phase: "waiting", dueAt: DEADLINE + 501 }]);
    expect(hasEnded(t.state)).toBe(false);
  });

  it("backs off with full jitter, capped", () => {
    const run = simulate(OUTAGE);
    // random 0.5 of min(30 s, 1 s * 2^(n-1))
    expect(gaps(run, "void_payment").slice(0, 8)).toEqual([500, 1_000, 2_000, 4_000, 8_000, 15_000, 15_000, 15_000]);
  });

  it.each([
    {
      comp: "void_payment" as const,
      script: { authorize_payment: always("timeout", 40), void_payment: always("unavailable", 1_000) } as Script,
      reason: "payment_unavailable",
      done: ["release_stock", "cancel_order"] as StepName[],
    },
    {
      comp: "release_stock" as const,
      script: { authorize_payment: ["payment_declined"], release_stock: always("not_found", 1_000) } as Script,
      reason: "payment_declined",
      done: ["cancel_order"] as StepName[],
    },
    {
      comp: "cancel_order" as const,
      script: { reserve_stock: ["out_of_stock"], cancel_order: always("internal", 1_000) } as Script,
      reason: "out_of_stock",
      done: [] as StepName[],
    },
  ])(
    "$comp failing past its budget -> compensation_failed, raised for an operator",
    ({ comp, script, reason, done }) => {
      const config = { ...CONFIG, compensationBudgetMs: 60_000 };
      const run = simulate(script, { config });
      const attempts = run.calls.filter((c) => c.step === comp);
      // 0.5 + 1 + 2 + 4 + 8 + 15 + 15 + 15 = 60.5 s of failures: the 9th failure spends the budget.
      expect(attempts).toHaveLength(9);
      expect(run.state).toMatchObject({ status: "compensation_failed", reason, active: [] });
      expect(stepOf(run.state, comp)).toMatchObject({ status: "failed", attempts: 9 });
      expect(stepOf(run.state, comp).spentMs).toBeGreaterThanOrEqual(60_000);
      expect(stepOf(run.state, comp).error?.detail).toMatch(/^gave up after 9 attempts/);
      for (const name of done) expect(stepOf(run.state, name).status).toBe("succeeded");
      expect(run.emits).toEqual([
        {
          type: "emit",
          id: `${ORDER}:order.saga.compensation_failed`,
          event: "order.saga.compensation_failed",
          data: { orderId: ORDER, state: "compensation_failed", reason, step: comp },
        },
      ]);
      expect(hasEnded(run.state)).toBe(true);
    },
  );

  it("the default budget is 24 hours", () => {
    expect(DEFAULT_SAGA_CONFIG.compensationBudgetMs).toBe(24 * 60 * 60 * 1000);
  });

  it("refusals by an open breaker use none of the budget", () => {
    const config = { ...CONFIG, compensationBudgetMs: 60_000 };
    const refused = { code: "unavailable", open: true } as const;
    const run = simulate(
      {
        authorize_payment: ["payment_declined"],
        release_stock: [...times(refused, 300), "unavailable", "unavailable"],
      },
      { config },
    );
    // 300 refusals over more than an hour, then two real failures, then success.
    const cancels = run.calls.filter((c) => c.step === "release_stock");
    expect(cancels).toHaveLength(303);
    expect((cancels.at(-1)?.at ?? 0) - T0).toBeGreaterThan(60 * 60_000);
    expect(run.state.status).toBe("cancelled");
  });

  it("lost compensation calls use the budget", () => {
    const config = { ...CONFIG, compensationBudgetMs: 100_000 };
    const run = simulate({ reserve_stock: ["out_of_stock"], cancel_order: always("lost") }, { config });
    expect(run.calls.filter((c) => c.step === "cancel_order").map((c) => c.at - T0)).toEqual([0, 60_000]);
    expect(run.state.status).toBe("compensation_failed");
    expect(stepOf(run.state, "cancel_order").history.map((a) => a.outcome)).toEqual(["no_result", "no_result"]);
  });
});

describe("an operator retries a failed compensation", () => {
  const config = { ...CONFIG, compensationBudgetMs: 60_000 };
  const failedRun = () =>
    simulate({ authorize_payment: always("timeout", 40), void_payment: always("unavailable", 9) }, { config });

  it("runs only the failed compensations again, and the saga ends cancelled", () => {
    const before = failedRun();
    expect(before.state.status).toBe("compensation_failed");
    const t = apply(before.state, { type: "retry" }, T0 + 3_600_000, half, config);
    expect(t.reply).toEqual({ accepted: true });
    expect(t.commands).toEqual([call("void_payment", 10)]);
    expect(t.state).toMatchObject({ status: "compensating", retries: 1, endedAt: null });
    const done = apply(t.state, ok("void_payment", 10), T0 + 3_600_001, half, config);
    expect(done.state.status).toBe("cancelled");
    expect(done.commands).toEqual([
      {
        type: "emit",
        id: `${ORDER}:order.saga.failed`,
        event: "order.saga.failed",
        data: { orderId: ORDER, state: "cancelled", reason: "payment_unavailable" },
      },
    ]);
  });

  it("is idempotent: a repeat while it runs, or after it ended, is accepted and changes nothing", () => {
    const t = apply(failedRun().state, { type: "retry" }, T0 + 3_600_000, half, config);
    const again = apply(t.state, { type: "retry" }, T0 + 3_600_001, half, config);
    expect(again.reply).toEqual({ accepted: true });
    expect(again.commands).toEqual([]);
    expect(again.state).toBe(t.state);
    const done = apply(t.state, ok("void_payment", 10), T0 + 3_600_002, half, config);
    expect(apply(done.state, { type: "retry" }, T0 + 3_600_003, half, config).reply).toEqual({ accepted: true });
  });

  it("a retry that fails again raises compensation_failed again, under a new id", () => {
    const t = apply(failedRun().state, { type: "retry" }, T0 + 3_600_000, half, config);
    let state = t.state;
    let at = T0 + 3_600_000;
    const emits: string[] = [];
    for (let attempt = 10; state.status === "compensating"; attempt += 1) {
      at += 1;
      const failure = apply(state, failed("void_payment", attempt, "unavailable"), at, half, config);
      for (const command of failure.commands) if (command.type === "emit") emits.push(command.id);
      state = failure.state;
      if (state.status !== "compensating") break;
      at = nextWakeAt(state) ?? at;
      state = apply(state, { type: "alarm" }, at, half, config).state;
    }
    expect(state.status).toBe("compensation_failed");
    expect(emits).toEqual([`${ORDER}:order.saga.compensation_failed:1`]);
  });

  it.each([
    ["running", [{ type: "start" }] as SagaInput[]],
    ["completed", null],
  ])("is refused by a saga that is %s", (status, events) => {
    const state =
      events === null ? simulate({}).state : events.reduce((t, e) => apply(t.state, e, T0), drive([])).state;
    const t = apply(state, { type: "retry" }, T0 + 1);
    expect(t.reply).toEqual({ accepted: false, refused: status });
    expect(t.commands).toEqual([]);
  });
});

const cancelBy = (by: "customer" | "admin"): SagaInput => ({ type: "cancel", by });

describe("cancellation before the pivot", () => {
  it.each([
    {
      label: "before start",
      events: [] as [SagaInput, number][],
      commands: [call("cancel_order", 1, "cancelled_by_customer")],
    },
    {
      label: "while reserve_stock is waiting to retry after a refused call",
      events: [
        [{ type: "start" }, T0],
        [failed("reserve_stock", 1, "unavailable", false), T0 + 1],
      ] as [SagaInput, number][],
      commands: [call("cancel_order", 1, "cancelled_by_customer")],
    },
    {
      label: "while reserve_stock is waiting to retry after a timeout that reached the catalog",
      events: [
        [{ type: "start" }, T0],
        [failed("reserve_stock", 1, "timeout"), T0 + 1],
      ] as [SagaInput, number][],
      commands: [call("release_stock", 1), call("cancel_order", 1, "cancelled_by_customer")],
    },
    {
      label: "after reserve_stock, while authorize_payment is waiting to retry",
      events: [
        [{ type: "start" }, T0],
        [ok("reserve_stock", 1), T0],
        [failed("authorize_payment", 1, "unavailable"), T0 + 1],
      ] as [SagaInput, number][],
      commands: [call("void_payment", 1), call("release_stock", 1), call("cancel_order", 1, "cancelled_by_customer")],
    },
  ])("$label: compensates at once", ({ events, commands }) => {
    const before = drive(events);
    const t = apply(before.state, cancelBy("customer"), T0 + 2);
    expect(t.reply).toEqual({ accepted: true, reason: "cancelled_by_customer" });
    expect(t.commands).toEqual(commands);
    expect(t.state).toMatchObject({
      status: "compensating",
      flow: "compensation",
      reason: "cancelled_by_customer",
      cancel: { by: "customer", at: T0 + 2 },
    });
  });

  it("stops a waiting step with a cancelled error", () => {
    const before = drive([
      [{ type: "start" }, T0],
      [failed("reserve_stock", 1, "timeout"), T0 + 1],
    ]);
    const t = apply(before.state, cancelBy("admin"), T0 + 2);
    expect(stepOf(t.state, "reserve_stock")).toMatchObject({
      status: "failed",
      endedAt: T0 + 2,
      error: { code: "cancelled", detail: "cancelled by the admin after 1 attempt(s)" },
    });
    expect(t.state.reason).toBe("cancelled_by_admin");
  });

  it.each([
    {
      step: "reserve_stock" as const,
      late: "ok" as Answer,
      calls: ["reserve_stock#1", "release_stock#1", "cancel_order#1"],
      status: "compensated",
    },
    {
      step: "reserve_stock" as const,
      late: "out_of_stock" as Answer,
      calls: ["reserve_stock#1", "cancel_order#1"],
      status: "failed",
    },
    {
      step: "reserve_stock" as const,
      late: "timeout" as Answer,
      calls: ["reserve_stock#1", "release_stock#1", "cancel_order#1"],
      status: "failed",
    },
    {
      step: "reserve_stock" as const,
      late: "lost" as Answer,
      calls: ["reserve_stock#1", "release_stock#1", "cancel_order#1"],
      status: "failed",
    },
    {
      step: "authorize_payment" as const,
      late: "ok" as Answer,
      calls: ["reserve_stock#1", "authorize_payment#1", "void_payment#1", "release_stock#1", "cancel_order#1"],
      status: "compensated",
    },
    {
      step: "authorize_payment" as const,
      late: "payment_declined" as Answer,
      calls: ["reserve_stock#1", "authorize_payment#1", "release_stock#1", "cancel_order#1"],
      status: "failed",
    },
    {
      step: "authorize_payment" as const,
      late: { code: "unavailable", open: true } as Answer,
      calls: ["reserve_stock#1", "authorize_payment#1", "release_stock#1", "cancel_order#1"],
      status: "failed",
    },
  ])(
    "while $step is in flight, then its late answer $late: compensation waits for it",
    ({ step, late, calls, status }) => {
      const run = simulate({ [step]: [late] }, { interrupts: [{ step, attempt: 1, event: cancelBy("customer") }] });
      expect(run.replies).toEqual([{ accepted: true, reason: "cancelled_by_customer" }]);
      expect(trace(run)).toEqual(calls);
      expect(run.calls.at(-1)?.reason).toBe("cancelled_by_customer");
      expect(run.state).toMatchObject({ status: "cancelled", reason: "cancelled_by_customer", pivotAt: null });
      expect(stepOf(run.state, step).status).toBe(status);
      expect(stepOf(run.state, step).attempts).toBe(1); // no retry after the cancel
      expect(stepOf(run.state, "confirm_order").status).toBe("skipped");
      expect(run.emits.map((e) => [e.event, e.data.reason])).toEqual([["order.saga.failed", "cancelled_by_customer"]]);
    },
  );

  it("with a call in flight, the cancel itself issues nothing and keeps the call's watchdog", () => {
    const before = drive([
      [{ type: "start" }, T0],
      [ok("reserve_stock", 1), T0 + 1],
    ]);
    const t = apply(before.state, cancelBy("customer"), T0 + 2);
    expect(t.commands).toEqual([]);
    expect(t.state.status).toBe("compensating");
    expect(t.state.flow).toBe("forward");
    expect(t.state.active).toEqual([
      { step: "authorize_payment", attempt: 1, phase: "calling", dueAt: T0 + 1 + 60_000 },
    ]);
    expect(t.wakeAt).toBe(T0 + 1 + 60_000);
    const late = apply(t.state, ok("authorize_payment", 1), T0 + 3);
    expect(late.commands).toEqual([
      call("void_payment", 1),
      call("release_stock", 1),
      call("cancel_order", 1, "cancelled_by_customer"),
    ]);
    expect(late.state.pivotAt).toBeNull();
  });

  it("a repeated cancel is accepted again and changes nothing", () => {
    const once = drive([
      [{ type: "start" }, T0],
      [cancelBy("customer"), T0 + 1],
    ]);
    const twice = apply(once.state, cancelBy("admin"), T0 + 2);
    expect(twice.reply).toEqual({ accepted: true, reason: "cancelled_by_customer" });
    expect(twice.state).toBe(once.state);
    expect(twice.commands).toEqual([]);
  });

  it("keeps the cancellation's reason when the late answer is a business failure", () => {
    const run = simulate(
      { reserve_stock: ["out_of_stock"] },
      { interrupts: [{ step: "reserve_stock", attempt: 1, event: cancelBy("admin") }] },
    );
    expect(run.state.reason).toBe("cancelled_by_admin");
  });

  it.each([
    {
      label: "a saga compensating for a business failure",
      script: { reserve_stock: ["out_of_stock"] } as Script,
      at: "cancel_order" as StepName,
      reply: { accepted: false, refused: "compensating", reason: "out_of_stock" },
    },
    {
      label: "a cancelled saga",
      script: { reserve_stock: ["out_of_stock"] } as Script,
      at: null,
      reply: { accepted: false, refused: "cancelled", reason: "out_of_stock" },
    },
    {
      label: "a saga whose compensation failed",
      script: { reserve_stock: ["out_of_stock"], cancel_order: always("internal") } as Script,
      at: null,
      reply: { accepted: false, refused: "compensation_failed", reason: "out_of_stock" },
    },
  ])("is refused by $label", ({ script, at, reply }) => {
    const interrupts = at ? [{ step: at, attempt: 1, event: cancelBy("customer") }] : [];
    const run = simulate(script, { interrupts, config: { ...CONFIG, compensationBudgetMs: 60_000 } });
    const final = at ? run.replies[0] : apply(run.state, cancelBy("customer"), T0 + 10_000_000).reply;
    expect(final).toEqual(reply);
  });
});

describe("cancellation after the pivot is refused", () => {
  it.each([
    { label: "confirm_order in flight", upTo: 2 },
    { label: "commit_stock in flight", upTo: 3 },
    { label: "capture_payment in flight", upTo: 4 },
    { label: "completed", upTo: 5 },
  ])("$label", ({ upTo }) => {
    const steps: SagaInput[] = [
      ok("reserve_stock", 1),
      ok("authorize_payment", 1),
      ok("confirm_order", 1, null),
      ok("commit_stock", 1),
      ok("capture_payment", 1),
    ];
    const before = drive([
      [{ type: "start" }, T0],
      ...steps.slice(0, upTo).map((e, i): [SagaInput, number] => [e, T0 + i + 1]),
    ]);
    expect(before.state.pivotAt).toBe(T0 + 2);
    const t = apply(before.state, cancelBy("customer"), T0 + 100);
    expect(t.reply).toEqual({ accepted: false, refused: "past_pivot", reason: null });
    expect(t.state).toBe(before.state);
    expect(t.commands).toEqual([]);
  });

  it("also while a post-pivot step waits to retry", () => {
    const before = drive([
      [{ type: "start" }, T0],
      [ok("reserve_stock", 1), T0],
      [ok("authorize_payment", 1), T0],
      [failed("confirm_order", 1, "internal"), T0],
    ]);
    expect(before.state.active[0]?.phase).toBe("waiting");
    const t = apply(before.state, cancelBy("admin"), T0 + 1);
    expect(t.reply).toMatchObject({ accepted: false, refused: "past_pivot" });
    expect(t.state).toBe(before.state);
  });
});

const refundBy = (by: "customer" | "admin"): SagaInput => ({ type: "refund", by });

describe("the refund of a confirmed order", () => {
  it("after completion: refund_payment then return_stock, retried until they succeed; the saga ends cancelled", () => {
    const done = simulate({});
    const t = apply(done.state, refundBy("customer"), T0 + 1_000);
    expect(t.reply).toEqual({ accepted: true, queued: false });
    expect(t.commands).toEqual([call("refund_payment", 1)]);
    expect(t.state).toMatchObject({
      status: "running",
      flow: "refund",
      reason: "cancelled_by_customer",
      endedAt: null,
    });

    let s = apply(t.state, failed("refund_payment", 1, "unavailable"), T0 + 1_001).state;
    expect(s.active).toEqual([{ step: "refund_payment", attempt: 1, phase: "waiting", dueAt: T0 + 1_101 }]);
    const retried = apply(s, { type: "alarm" }, T0 + 1_101);
    expect(retried.commands).toEqual([call("refund_payment", 2)]);
    const refunded = apply(retried.state, ok("refund_payment", 2), T0 + 1_102);
    expect(refunded.commands).toEqual([call("return_stock", 1)]);
    const returned = apply(refunded.state, ok("return_stock", 1), T0 + 1_103);
    expect(returned.commands).toEqual([]);
    s = returned.state;
    expect(s).toMatchObject({
      status: "cancelled",
      reason: "cancelled_by_customer",
      endedAt: T0 + 1_103,
      active: [],
    });
    expect(statuses(s)).toEqual({
      reserve_stock: "succeeded",
      authorize_payment: "succeeded",
      confirm_order: "succeeded",
      commit_stock: "succeeded",
      capture_payment: "succeeded",
      refund_payment: "succeeded",
      return_stock: "succeeded",
    });
  });

  it("requested while the forward steps still run: queued until capture, then runs", () => {
    const run = simulate(
      { capture_payment: ["timeout"] },
      { interrupts: [{ step: "commit_stock", attempt: 1, event: refundBy("admin") }] },
    );
    expect(run.replies).toEqual([{ accepted: true, queued: true }]);
    expect(trace(run)).toEqual([...HAPPY, "capture_payment#2", "refund_payment#1", "return_stock#1"]);
    expect(run.emits.map((e) => e.event)).toEqual(["order.saga.completed"]);
    expect(run.emits[0]?.data).toEqual({ orderId: ORDER, state: "completed" });
    expect(run.state).toMatchObject({ status: "cancelled", reason: "cancelled_by_admin", flow: "refund" });
  });

  it("retries its steps, whatever the answer, past any deadline, until they succeed", () => {
    const run = simulate(
      { refund_payment: times("conflict", 5), return_stock: times("unavailable", 30) },
      { interrupts: [{ step: "capture_payment", attempt: 1, event: refundBy("customer") }] },
    );
    expect(run.calls.filter((c) => c.step === "refund_payment")).toHaveLength(6);
    const returns = run.calls.filter((c) => c.step === "return_stock");
    expect(returns).toHaveLength(31);
    expect(returns.at(-1)?.at).toBeGreaterThan(DEADLINE);
    expect(gaps(run, "return_stock").slice(0, 3)).toEqual([100, 200, 400]); // the forward backoff
    expect(run.state).toMatchObject({ status: "cancelled", reason: "cancelled_by_customer" });
  });

  it.each([
    { label: "before the pivot", events: [[{ type: "start" }, T0]] as [SagaInput, number][] },
    {
      label: "a cancelled saga",
      events: [
        [{ type: "start" }, T0],
        [failed("reserve_stock", 1, "out_of_stock"), T0],
        [okLocal("cancel_order", 1), T0],
      ] as [SagaInput, number][],
    },
  ])("is refused for $label", ({ events }) => {
    const before = drive(events);
    const t = apply(before.state, refundBy("customer"), T0 + 5);
    expect(t.reply).toEqual({ accepted: false, refused: "not_confirmed" });
    expect(t.state).toBe(before.state);
  });

  it("a repeated refund is accepted and changes nothing", () => {
    const done = simulate({});
    const once = apply(done.state, refundBy("customer"), T0 + 10);
    const twice = apply(once.state, refundBy("admin"), T0 + 11);
    expect(twice.reply).toEqual({ accepted: true, queued: false });
    expect(twice.state).toBe(once.state);
    expect(twice.commands).toEqual([]);
  });
});

describe("stale and duplicate events change nothing", () => {
  // reserve_stock attempt 1 failed, attempt 2 is out.
  const base = drive([
    [{ type: "start" }, T0],
    [failed("reserve_stock", 1, "unavailable"), T0 + 1],
    [{ type: "alarm" }, T0 + 101],
  ]);

  it("the fixture has attempt 2 of reserve_stock out", () => {
    expect(base.state.active).toEqual([
      {
        step: "reserve_stock",
        attempt: 2,
        phase: "calling",
        dueAt: T0 + 101 + 60_000,
      },
    ]);
  });

  it.each([
    { label: "an answer to attempt 1 (older)", event: ok("reserve_stock", 1) },
    { label: "a failure of attempt 1 (older)", event: failed("reserve_stock", 1, "out_of_stock") },
    { label: "an answer to attempt 3 (never issued)", event: ok("reserve_stock", 3) },
    { label: "an answer for another step", event: ok("authorize_payment", 2) },
    { label: "an unknown emit confirmation", event: { type: "emitted", id: "nope" } as SagaInput },
    { label: "an early alarm", event: { type: "alarm" } as SagaInput },
    { label: "a second start", event: { type: "start" } as SagaInput },
  ])("$label", ({ event }) => {
    const t = apply(base.state, event, T0 + 200);
    expect(t.state).toBe(base.state);
    expect(t.commands).toEqual([]);
    expect(t.reply).toBeNull();
    expect(t.wakeAt).toBe(T0 + 101 + 60_000);
  });

  it("a duplicated success is applied once", () => {
    const first = apply(base.state, ok("reserve_stock", 2), T0 + 200);
    expect(first.commands).toEqual([call("authorize_payment", 1)]);
    const dup = apply(first.state, ok("reserve_stock", 2), T0 + 201);
    expect(dup.state).toBe(first.state);
    expect(dup.commands).toEqual([]);
  });

  it("a duplicated failure schedules one retry", () => {
    const first = apply(base.state, failed("reserve_stock", 2, "timeout"), T0 + 200);
    expect(first.state.active).toEqual([{ step: "reserve_stock", attempt: 2, phase: "waiting", dueAt: T0 + 400 }]);
    const dup = apply(first.state, failed("reserve_stock", 2, "timeout"), T0 + 201);
    expect(dup.state).toBe(first.state);
  });

  it("an answer to a finished saga", () => {
    const done = simulate({});
    const t = apply(done.state, ok("capture_payment", 1), T0 + 5);
    expect(t.state).toBe(done.state);
  });
});

describe("alarms and restarts", () => {
  it("an alarm fired twice issues the retry once", () => {
    const waiting = drive([
      [{ type: "start" }, T0],
      [failed("reserve_stock", 1, "unavailable"), T0],
    ]);
    const first = apply(waiting.state, { type: "alarm" }, T0 + 100);
    expect(first.commands).toEqual([call("reserve_stock", 2)]);
    const second = apply(first.state, { type: "alarm" }, T0 + 100);
    expect(second.state).toBe(first.state);
    expect(second.commands).toEqual([]);
    expect(second.wakeAt).toBe(T0 + 100 + 60_000);
  });

  it("an alarm with nothing due and nothing running does nothing", () => {
    const done = simulate({});
    const t = apply(done.state, { type: "alarm" }, T0 + 999_999);
    expect(t.state).toBe(done.state);
    expect(t.wakeAt).toBeNull();
  });

  it.each([
    { label: "resume after a restart", event: { type: "resume" } as SagaInput, at: T0 + 5 },
    { label: "the call's watchdog alarm", event: { type: "alarm" } as SagaInput, at: T0 + 60_000 },
  ])("$label re-issues the step that was out, as a new attempt", ({ event, at }) => {
    const out = drive([
      [{ type: "start" }, T0],
      [ok("reserve_stock", 1), T0],
    ]);
    expect(out.state.active[0]).toMatchObject({ step: "authorize_payment", attempt: 1, phase: "calling" });
    const t = apply(out.state, event, at);
    expect(t.commands).toEqual([call("authorize_payment", 2)]);
    expect(t.wakeAt).toBe(at + 60_000);
    const step = stepOf(t.state, "authorize_payment");
    expect(step.mayHaveEffect).toBe(true);
    expect(step.history[0]).toMatchObject({ attempt: 1, outcome: "no_result", endedAt: at, breaker: null });
    expect(step.history[0]?.error?.code).toBe("no_result");
    expect(step.history[1]).toEqual({ attempt: 2, startedAt: at, endedAt: null, breaker: null, outcome: "in_flight" });
    // The lost attempt's answer, should it still arrive, is stale.
    const late = apply(t.state, ok("authorize_payment", 1), at + 1);
    expect(late.state).toBe(t.state);
    const current = apply(t.state, ok("authorize_payment", 2), at + 1);
    expect(current.commands).toEqual([call("confirm_order", 1)]);
  });

  it("the watchdog does not fire before the call timeout", () => {
    const out = drive([[{ type: "start" }, T0]]);
    const t = apply(out.state, { type: "alarm" }, T0 + 59_999);
    expect(t.state).toBe(out.state);
  });

  it("resume while waiting for a retry changes nothing until the retry is due", () => {
    const waiting = drive([
      [{ type: "start" }, T0],
      [failed("reserve_stock", 1, "unavailable"), T0],
    ]);
    expect(apply(waiting.state, { type: "resume" }, T0 + 50).state).toBe(waiting.state);
    expect(apply(waiting.state, { type: "resume" }, T0 + 100).commands).toEqual([call("reserve_stock", 2)]);
  });

  it("a restart past the deadline before the pivot compensates instead of retrying", () => {
    const out = drive([[{ type: "start" }, T0]]);
    const t = apply(out.state, { type: "resume" }, DEADLINE + 1);
    expect(t.commands).toEqual([call("release_stock", 1), call("cancel_order", 1, "out_of_stock")]);
    expect(t.state.reason).toBe("out_of_stock");
  });

  it("a restart after the pivot re-issues the step, whatever the time", () => {
    const out = drive([
      [{ type: "start" }, T0],
      [ok("reserve_stock", 1), T0],
      [ok("authorize_payment", 1), T0],
    ]);
    const t = apply(out.state, { type: "resume" }, DEADLINE + 10 * 60_000);
    expect(t.commands).toEqual([call("confirm_order", 2)]);
  });

  it("a restart during a compensation re-issues it", () => {
    const out = drive([
      [{ type: "start" }, T0],
      [failed("reserve_stock", 1, "out_of_stock"), T0],
    ]);
    const t = apply(out.state, { type: "resume" }, T0 + 1);
    expect(t.commands).toEqual([call("cancel_order", 2, "out_of_stock")]);
  });

  it("an unconfirmed emit is issued again when its timer is due, and on resume", () => {
    const run = simulate({ reserve_stock: ["out_of_stock"] }, { dropEmits: true });
    expect(run.emits).toHaveLength(1);
    const s = run.state;
    const emitCommand = run.emits[0];
    const dueAt = s.outbox[0]?.dueAt as number;
    expect(nextWakeAt(s)).toBe(dueAt);
    expect(apply(s, { type: "alarm" }, dueAt - 1).state).toBe(s);
    const again = apply(s, { type: "alarm" }, dueAt);
    expect(again.commands).toEqual([emitCommand]);
    expect(again.wakeAt).toBe(dueAt + 60_000);
    expect(apply(s, { type: "resume" }, dueAt - 30_000).commands).toEqual([emitCommand]);
    const confirmed = apply(again.state, { type: "emitted", id: `${ORDER}:order.saga.failed` }, dueAt + 1);
    expect(confirmed.state.outbox).toEqual([]);
    expect(confirmed.wakeAt).toBeNull();
  });
});

describe("the step history", () => {
  const history = drive([
    [{ type: "start" }, T0],
    [failed("reserve_stock", 1, "unavailable", false), T0 + 7],
    [{ type: "alarm" }, T0 + 107],
    [ok("reserve_stock", 2, "half_open"), T0 + 150],
    [failed("authorize_payment", 1, "payment_declined"), T0 + 300],
    [okLocal("release_stock", 1), T0 + 310],
    [failed("cancel_order", 1, "internal"), T0 + 320],
  ]).state;

  it("records attempts, injected times, errors and each attempt's breaker answer", () => {
    expect(stepOf(history, "reserve_stock")).toEqual({
      name: "reserve_stock",
      flow: "forward",
      status: "compensated",
      attempts: 2,
      startedAt: T0,
      endedAt: T0 + 150,
      mayHaveEffect: true,
      spentMs: 0,
      history: [
        {
          attempt: 1,
          startedAt: T0,
          endedAt: T0 + 7,
          breaker: { breaker: "open", called: false },
          outcome: "failed",
          error: { code: "unavailable", detail: "unavailable detail" },
        },
        {
          attempt: 2,
          startedAt: T0 + 107,
          endedAt: T0 + 150,
          breaker: { breaker: "half_open", called: true },
          outcome: "succeeded",
        },
      ],
    });
    expect(stepOf(history, "authorize_payment")).toMatchObject({
      status: "failed",
      attempts: 1,
      startedAt: T0 + 150,
      endedAt: T0 + 300,
      mayHaveEffect: false,
      error: { code: "payment_declined", detail: "payment_declined detail" },
    });
    expect(stepOf(history, "cancel_order")).toMatchObject({
      status: "running",
      attempts: 1,
      error: { code: "internal", detail: "internal detail" },
      history: [{ attempt: 1, breaker: null, outcome: "failed" }],
    });
  });

  it("renders as the order's saga view with ISO times", () => {
    const iso = (ms: number) => new Date(ms).toISOString();
    const view = toSagaView(history);
    expect(view.state).toBe("compensating");
    expect(view.reason).toBe("payment_declined");
    expect(view.steps.map((s) => [s.name, s.status, s.attempts])).toEqual([
      ["reserve_stock", "compensated", 2],
      ["authorize_payment", "failed", 1],
      ["confirm_order", "skipped", 0],
      ["commit_stock", "skipped", 0],
      ["capture_payment", "skipped", 0],
      ["release_stock", "succeeded", 1],
      ["cancel_order", "running", 1],
    ]);
    expect(view.steps[0]).toEqual({
      name: "reserve_stock",
      status: "compensated",
      attempts: 2,
      startedAt: iso(T0),
      endedAt: iso(T0 + 150),
      history: [
        {
          attempt: 1,
          startedAt: iso(T0),
          endedAt: iso(T0 + 7),
          breaker: "open",
          called: false,
          outcome: "failed",
          error: "unavailable: unavailable detail",
        },
        {
          attempt: 2,
          startedAt: iso(T0 + 107),
          endedAt: iso(T0 + 150),
          breaker: "half_open",
          called: true,
          outcome: "succeeded",
        },
      ],
    });
    expect(view.steps[1]?.error).toBe("payment_declined: payment_declined detail");
    expect(view.steps[2]).toEqual({
      name: "confirm_order",
      status: "skipped",
      attempts: 0,
      startedAt: null,
      endedAt: null,
      history: [],
    });
    expect(view.steps[6]?.history[0]).toMatchObject({ breaker: null, called: null, outcome: "failed" });
  });

  it("a fresh saga's view lists every forward step as pending", () => {
    expect(toSagaView(initialSaga(ORDER, T0))).toEqual({
      state: "running",
      steps: FORWARD_STEPS.map((name) => ({
        name,
        status: "pending",
        attempts: 0,
        startedAt: null,
        endedAt: null,
        history: [],
      })),
    });
  });
});

describe("sagaConfig", () => {
  it("falls back to the documented defaults", () => {
    expect(sagaConfig({})).toEqual({
      deadlineMs: 120_000,
      backoff: { baseMs: 200, capMs: 10_000 },
      compensationBackoff: { baseMs: 1_000, capMs: 30_000 },
      compensationBudgetMs: 86_400_000,
      callTimeoutMs: 60_000,
      attemptLogLimit: 20,
    });
    expect(sagaConfig({ SAGA_DEADLINE_MS: " " })).toEqual(DEFAULT_SAGA_CONFIG);
  });

  it("reads every variable", () => {
    expect(
      sagaConfig({
        SAGA_DEADLINE_MS: "5000",
        SAGA_BACKOFF_BASE_MS: "50",
        SAGA_BACKOFF_CAP_MS: "500",
        SAGA_COMPENSATION_BACKOFF_BASE_MS: "70",
        SAGA_COMPENSATION_BACKOFF_CAP_MS: "700",
        SAGA_COMPENSATION_BUDGET_MS: "3000",
        SAGA_CALL_TIMEOUT_MS: "9000",
      }),
    ).toEqual({
      deadlineMs: 5_000,
      backoff: { baseMs: 50, capMs: 500 },
      compensationBackoff: { baseMs: 70, capMs: 700 },
      compensationBudgetMs: 3_000,
      callTimeoutMs: 9_000,
      attemptLogLimit: 20,
    });
  });

  it.each([
    ["SAGA_DEADLINE_MS", "-1"],
    ["SAGA_BACKOFF_BASE_MS", "0"],
    ["SAGA_COMPENSATION_BUDGET_MS", "-1"],
    ["SAGA_CALL_TIMEOUT_MS", "1.5"],
    ["SAGA_BACKOFF_CAP_MS", "ten"],
  ])("refuses %s = %s", (name, value) => {
    expect(() => sagaConfig({ [name]: value })).toThrow(name);
  });
});

describe("invariants over random runs (SPEC.md section 6.2)", () => {
  const ANSWERS: Answer[] = [
    "ok",
    "ok",
    "ok",
    "ok",
    "unavailable",
    "timeout",
    { code: "unavailable", open: true },
    "lost",
    "out_of_stock",
    "payment_declined",
  ];

  it.each(Array.from({ length: 300 }, (_, i) => i + 1))("seed %i", (seed) => {
    const rnd = mulberry32(seed);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)] as T;
    const script: Script = {};
    const allSteps = Object.keys(STEPS) as StepName[];
    for (const step of allSteps) {
      // Business answers only where they are business answers; after the pivot, transient ones.
      const allowed = ANSWERS.filter(
        (a) =>
          (a !== "out_of_stock" || step === "reserve_stock") &&
          (a !== "payment_declined" || step === "authorize_payment"),
      );
      script[step] = Array.from({ length: 15 }, () => pick(allowed));
    }
    // Now and then a compensation is broken for good, to reach compensation_failed.
    if (rnd() < 0.2) script[pick(["void_payment", "release_stock", "cancel_order"] as const)] = always("unavailable");
    const interrupts: Interrupt[] = [];
    if (rnd() < 0.4)
      interrupts.push({ step: pick(allSteps), attempt: 1, event: cancelBy(pick(["customer", "admin"])) });
    if (rnd() < 0.3) interrupts.push({ step: pick(allSteps), attempt: 1, event: refundBy("customer") });
    const config = { ...CONFIG, compensationBudgetMs: 120_000 };
    const run = simulate(script, { random: rnd, interrupts, config });
    const s = run.state;

    expect(run.maxInFlight).toBeLessThanOrEqual(1);
    expect(hasEnded(s)).toBe(true);
    expect(s.outbox).toEqual([]);
    const names = s.steps.map((step) => step.name);
    const called = run.calls.map((c) => c.step);
    if (s.pivotAt !== null) {
      // Forward only: no compensation ever ran, every forward step succeeded exactly through.
      expect(called.some((n) => STEPS[n].flow === "compensation")).toBe(false);
      for (const step of FORWARD_STEPS) expect(stepOf(s, step).status).toBe("succeeded");
      expect(run.emits.map((e) => e.event)).toEqual(["order.saga.completed"]);
      if (s.refund) {
        expect(s.status).toBe("cancelled");
        expect(stepOf(s, "refund_payment").status).toBe("succeeded");
        expect(stepOf(s, "return_stock").status).toBe("succeeded");
      } else {
        expect(s.status).toBe("completed");
      }
    } else {
      expect(["cancelled", "compensation_failed"]).toContain(s.status);
      expect(called).not.toContain("confirm_order");
      // Whatever may have reserved or authorised is undone (or the operator is told).
      for (const [forward, comp] of [
        ["reserve_stock", "release_stock"],
        ["authorize_payment", "void_payment"],
      ] as const) {
        if (stepOf(s, forward).mayHaveEffect) expect(names).toContain(comp);
      }
      if (s.status === "cancelled") {
        expect(
          s.steps.filter((step) => step.flow === "compensation").every((step) => step.status === "succeeded"),
        ).toBe(true);
        expect(run.emits.map((e) => e.event)).toEqual(["order.saga.failed"]);
      } else {
        expect(run.emits.map((e) => e.event)).toEqual(["order.saga.compensation_failed"]);
      }
      // The compensations are independent: all of them start together, none waits for another.
      const firsts = run.calls.filter((c) => STEPS[c.step].flow === "compensation" && c.attempt === 1);
      expect(new Set(firsts.map((c) => c.at)).size).toBe(1);
      // No forward call after compensation began.
      const firstComp = called.findIndex((n) => STEPS[n].flow === "compensation");
      expect(called.slice(firstComp).every((n) => STEPS[n].flow === "compensation")).toBe(true);
    }
  });
});
