import { DurableObject } from "cloudflare:workers";
import { unitOfWork } from "#queues/outbox";
import { BreakerClient, type BreakerTrace } from "#shared/breaker-client";
import { faultsEnabled } from "#shared/config";
import { type Actor, systemActor } from "#shared/contracts/common";
import type { RpcFaults } from "#shared/contracts/faults";
import { drawRpcFault } from "#shared/faults";
import { derivedId } from "#shared/ids";
import { createLogger, errorFields } from "#shared/log";
import { recordMetric } from "#shared/metrics";
import { fail, ok, type Result } from "#shared/result";
import { span } from "#shared/span";
import { formatTraceparent, parseTraceparent } from "#shared/trace";
import { OrdersRepository } from "../repository";
import {
  type Canceller,
  type CancelReply,
  hasEnded,
  initialSaga,
  type RefundReply,
  type Reply,
  type RetryReply,
  type SagaCommand,
  type SagaConfig,
  type SagaInput,
  type SagaMachineState,
  type SagaView,
  type StepResult,
  sagaConfig,
  toSagaView,
  transition,
  upgradeSaga,
} from "./machine";
import { type SagaPlan, STEPS, type StepPorts } from "./steps";

export type { SagaPlan };

interface Stored {
  state: SagaMachineState;
  plan: SagaPlan;
  revision: number;
}

/** The placing user, stored in the plan (older plans: the order's user). */
const actorOfPlan = (plan: SagaPlan): Actor => plan.actor ?? { type: "user", id: plan.userId };

const log = createLogger({ service: "shop-orders/saga" });
/**
 * Per isolate, shared by every saga object it hosts (one per order): the breakers' cache of
 * `closed` answers (SPEC: up to a second) only saves calls when it outlives one order.
 */
let breakers: BreakerClient | undefined;

/**
 * OrderSaga: one Durable Object per order, driving the pure machine of `machine.ts` through the
 * step table of `steps.ts`. Hosted by shop-orders, its only host, so it writes orders-db itself.
 *
 * For every event: read the state, run `transition`, write the state (SQLite, no await between
 * the read and the write), set the one alarm to `wakeAt`, project the view to orders-db, then
 * perform the commands (side by side) and feed their answers back. Alarms drive every retry; a
 * restarted object feeds `resume`, so a call that was out when it stopped is issued again (every
 * step is idempotent by order id downstream). Calls to catalog and payments go through their
 * CircuitBreaker.
 */
export class OrderSaga extends DurableObject<Env> {
  #waiters: (() => void)[] = [];
  readonly #breakers: BreakerClient;
  readonly #config: SagaConfig;
  readonly #log = log;
  /** The view this object last wrote to orders-db (written, not just sent). */
  #projected: { revision: number; json: string } | undefined;

  /** The saga's lines about one order carry the trace of the request that placed it. */
  #logOf(plan: SagaPlan | null | undefined) {
    const trace = parseTraceparent(plan?.traceparent);
    return trace ? createLogger({ service: "shop-orders/saga", traceId: trace.traceId }) : this.#log;
  }

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#config = sagaConfig(env);
    breakers ??= new BreakerClient(() => env.CIRCUIT_BREAKER, {
      log: (message, fields) => log.warn(message, fields),
    });
    this.#breakers = breakers;
    ctx.blockConcurrencyWhile(async () => {
      ctx.storage.sql.exec(
        "CREATE TABLE IF NOT EXISTS saga (id INTEGER PRIMARY KEY CHECK (id = 1), state TEXT NOT NULL, plan TEXT NOT NULL, revision INTEGER NOT NULL)",
      );
    });
    // Anything that was out when the object last stopped is lost: issue it again.
    void ctx.blockConcurrencyWhile(async () => {
      const stored = this.#load();
      if (stored && !hasEnded(stored.state)) this.#run({ type: "resume" });
    });
  }

  /**
   * One orders-db write as its own unit of work (its events carry `traceparent`, the trace of the
   * request that placed the order, and the placing user as their actor), flushed once the write
   * committed. Writes with no plan (the projection) raise no events: the system is their actor.
   */
  #write<R>(plan: SagaPlan | null, run: (repo: OrdersRepository) => Promise<R>): Promise<R> {
    const cause = plan
      ? { traceparent: plan.traceparent ?? null, actor: actorOfPlan(plan) }
      : { traceparent: null, actor: systemActor("shop-orders/saga") };
    return unitOfWork(this.ctx, this.env, "shop-orders", cause, (outbox) =>
      run(new OrdersRepository(this.env.DB, outbox)),
    );
  }

  /** One orders-db read: a unit of work that stages nothing, so it flushes nothing. */
  #read<R>(run: (repo: OrdersRepository) => Promise<R>): Promise<R> {
    return this.#write(null, run);
  }

  /** Injected faults of the saga's calls (development only). */
  async #faults(): Promise<RpcFaults> {
    if (!faultsEnabled(this.env)) return {};
    return this.#read((repo) => repo.rpcFaults());
  }

  /** What the step table's calls reach, for one attempt of the plan's order. */
  #ports(plan: SagaPlan): StepPorts {
    const now = () => new Date().toISOString();
    const status = (orderId: string) => this.#read((repo) => repo.orderStatus(orderId));
    return {
      catalog: this.env.CATALOG,
      payments: this.env.PAYMENTS,
      orders: {
        // Done once the order is past pending, including `cancelled` when a refund was asked of
        // this saga: only a confirmed order is cancelled for a refund, so a re-issued confirm (its
        // first answer lost) may find the refund overtook it. Refusing that would retry forever
        // and strand the queued refund. Read after the awaits: the refund may arrive meanwhile.
        confirm: async (orderId) => {
          if (await this.#write(plan, (repo) => repo.confirm(orderId, now()))) return ok(null);
          const current = await status(orderId);
          const passed =
            current === "confirmed" ||
            current === "shipped" ||
            (current === "cancelled" && !!this.#load()?.state.refund);
          return passed ? ok(null) : fail("conflict", `the order is ${current}`);
        },
        // Done once the order is cancelled, whoever cancelled it.
        cancel: async (orderId, reason) => {
          if (await this.#write(plan, (repo) => repo.cancel(orderId, reason, now()))) return ok(null);
          const current = await status(orderId);
          return current === "cancelled" ? ok(null) : fail("conflict", `the order is ${current}`);
        },
      },
    };
  }

  #load(): Stored | undefined {
    const row = this.ctx.storage.sql
      .exec<{ state: string; plan: string; revision: number }>("SELECT state, plan, revision FROM saga WHERE id = 1")
      .toArray()[0];
    if (!row) return undefined;
    return {
      state: upgradeSaga(JSON.parse(row.state)),
      plan: JSON.parse(row.plan) as SagaPlan,
      revision: row.revision,
    };
  }

  /**
   * One event, applied atomically: no await between reading and writing the state. Returns the
   * commands to perform and the reply for cancel/refund.
   */
  #apply(event: SagaInput, plan?: SagaPlan): { commands: SagaCommand[]; reply: Reply | null } {
    const now = Date.now();
    const stored = this.#load();
    if (!stored && !plan) return { commands: [], reply: null };
    const current = stored ?? {
      state: initialSaga((plan as SagaPlan).orderId, now),
      plan: plan as SagaPlan,
      revision: 0,
    };
    const next = transition(current.state, event, now, this.#config, Math.random);
    if (next.state !== current.state || !stored) {
      const revision = current.revision + 1;
      this.ctx.storage.sql.exec(
        "INSERT INTO saga (id, state, plan, revision) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET state = excluded.state, revision = excluded.revision",
        JSON.stringify(next.state),
        JSON.stringify(current.plan),
        revision,
      );
      void this.#afterWrite(next.state, next.wakeAt, revision);
      if (hasEnded(next.state) && !(stored && hasEnded(stored.state))) this.#recordEnding(next.state);
    }
    return { commands: next.commands, reply: next.reply };
  }

  /** One metrics point per ending (README "Metrics"); an operator's retry ends the saga again. */
  #recordEnding(state: SagaMachineState): void {
    if (state.status !== "completed" && state.status !== "cancelled" && state.status !== "compensation_failed") return;
    recordMetric(this.env, (promise) => this.ctx.waitUntil(promise), {
      kind: "saga",
      outcome: state.status,
      reason: state.reason ?? "",
      durationMs: Math.max(0, (state.endedAt ?? Date.now()) - (state.startedAt ?? state.createdAt)),
      attempts: state.steps.reduce((sum, step) => sum + step.attempts, 0),
    });
  }

  /** The alarm and the orders-db projection follow every stored change. */
  async #afterWrite(state: SagaMachineState, wakeAt: number | null, revision: number): Promise<void> {
    const view = toSagaView(state);
    const json = JSON.stringify(view);
    if (wakeAt === null) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(wakeAt);
    try {
      // A change the view does not show (an emit confirmed, a timer moved) right after a written
      // revision with the same view writes nothing: orders-db already shows it.
      const same = this.#projected?.revision === revision - 1 && this.#projected.json === json;
      if (!same) {
        await this.#write(null, (repo) => repo.saveSaga(state.orderId, view, revision, new Date().toISOString()));
      }
      if (!this.#projected || this.#projected.revision < revision) this.#projected = { revision, json };
    } catch (error) {
      // The object is the truth; the next change writes the projection again.
      this.#log.warn("saga projection failed", { orderId: state.orderId, error: String(error) });
    }
    if (hasEnded(state)) {
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const wake of waiters) wake();
    }
  }

  /** Applies an event and performs what it asks, feeding answers back, in the background. */
  #run(event: SagaInput, plan?: SagaPlan): Reply | null {
    const { commands, reply } = this.#apply(event, plan);
    if (commands.length > 0) this.ctx.waitUntil(this.#perform(commands));
    return reply;
  }

  /** Commands run side by side (the compensations are independent), each feeding its answer back. */
  async #perform(commands: SagaCommand[]): Promise<void> {
    await Promise.all(commands.map((command) => this.#performOne(command)));
  }

  async #performOne(command: SagaCommand): Promise<void> {
    if (command.type === "emit") {
      // Into the orders outbox, once by an id derived from the saga's; unconfirmed emits are
      // issued again by the machine, so a failure here only delays the event.
      try {
        const plan = this.#load()?.plan ?? null;
        const id = await derivedId("evt", command.id);
        await this.#write(plan, (repo) => repo.recordSagaEvent(id, command.event, command.data));
      } catch (error) {
        this.#logOf(this.#load()?.plan).warn("saga event not written; it is issued again", {
          event: command.event,
          error: String(error),
        });
        return;
      }
      this.#logOf(this.#load()?.plan).info("saga event", { event: command.event, ...command.data });
      await this.#perform(this.#apply({ type: "emitted", id: command.id }).commands);
      return;
    }
    const { result, breaker } = await this.#call(command);
    await this.#perform(
      this.#apply({ type: "step_result", step: command.step, attempt: command.attempt, result, breaker }).commands,
    );
  }

  /** Performs one step. Expected failures are values; anything thrown is a transient failure. */
  async #call(
    command: Extract<SagaCommand, { type: "call" }>,
  ): Promise<{ result: StepResult; breaker: BreakerTrace | null }> {
    const plan = this.#load()?.plan;
    if (!plan) return { result: { ok: false, code: "internal", detail: "the saga has no plan" }, breaker: null };
    const spec = STEPS[command.step];
    // Each attempt is a span of the order's trace (the callee's span is its child), and carries
    // the placing user as the actor of what it changes.
    const attempt = () =>
      span(
        {
          service: "shop-orders/saga",
          name: `${spec.target === "orders" ? "write" : "rpc"} ${spec.target}.${command.step}`,
          parent: parseTraceparent(plan.traceparent),
          fields: { orderId: plan.orderId, attempt: command.attempt },
        },
        (trace) =>
          spec.call(
            this.#ports(plan),
            plan,
            { traceparent: formatTraceparent(trace), actor: actorOfPlan(plan) },
            command.reason,
          ),
      );
    const toStep = (r: Result<unknown>): StepResult =>
      r.ok ? { ok: true } : { ok: false, code: r.code, detail: r.detail };
    try {
      if (!spec.breaker) return { result: toStep(await attempt()), breaker: null };
      const target = spec.target;
      const faults = await this.#faults();
      const faulty = async (): Promise<Result<unknown>> => {
        // Injected faults (development only): the dependency fails, is slow, or acts and loses its answer.
        const fault = drawRpcFault(faults[target]);
        if (fault.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, fault.latencyMs));
        if (fault.outcome === "error") return fail("unavailable", `injected fault: ${target} failed`);
        const answer = await attempt();
        if (fault.outcome === "ambiguous")
          return fail("unavailable", `injected fault: the answer of ${target} was lost`);
        return answer;
      };
      const answer = await this.#breakers.call(target, faulty);
      return { result: toStep(answer), breaker: answer.trace };
    } catch (error) {
      this.#logOf(plan).warn("saga step threw", { orderId: plan.orderId, step: command.step, ...errorFields(error) });
      return { result: { ok: false, code: "unavailable", detail: `${command.step} did not answer` }, breaker: null };
    }
  }

  // ------------------------------------------------------------------------------------------
  // RPC

  /**
   * Starts the saga (idempotent: a started saga ignores it) and answers its view once it ended,
   * or as it stands after `waitMs` (0: at once), so placing an order costs one call here.
   */
  async start(plan: SagaPlan, waitMs = 0): Promise<SagaView> {
    this.#run({ type: "start" }, plan);
    if (waitMs > 0) await this.#settle(waitMs);
    return this.view() as SagaView;
  }

  view(): SagaView | null {
    const stored = this.#load();
    return stored ? toSagaView(stored.state) : null;
  }

  /** The view once the saga has come to rest, or as it stands after `timeoutMs`. */
  async awaitEnd(timeoutMs: number): Promise<SagaView | null> {
    await this.#settle(timeoutMs);
    return this.view();
  }

  /** Waits until the saga has come to rest, or `timeoutMs`. */
  async #settle(timeoutMs: number): Promise<void> {
    const stored = this.#load();
    if (stored && !hasEnded(stored.state)) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /**
   * Stops the saga and compensates. A saga not started yet (given its plan) is left as a tombstone:
   * the order is cancelled and a later `start` does nothing.
   */
  cancel(by: Canceller, plan?: SagaPlan): CancelReply {
    return (
      (this.#run({ type: "cancel", by }, plan) as CancelReply | null) ?? {
        accepted: false,
        refused: "cancelled",
        reason: null,
      }
    );
  }

  /** An operator retries the failed compensations of a `compensation_failed` saga (idempotent). */
  retry(): { reply: RetryReply; saga: SagaView | null } {
    const reply = (this.#run({ type: "retry" }) as RetryReply | null) ?? {
      accepted: false as const,
      refused: "running" as const,
    };
    return { reply, saga: this.view() };
  }

  refund(by: Canceller): RefundReply {
    return (this.#run({ type: "refund", by }) as RefundReply | null) ?? { accepted: false, refused: "not_confirmed" };
  }

  override async alarm(): Promise<void> {
    this.#run({ type: "alarm" });
  }
}
