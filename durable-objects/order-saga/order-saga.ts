import { DurableObject } from "cloudflare:workers";
import { BreakerClient, type BreakerNamespace, type BreakerTrace } from "../../workers/shared/src/breaker-client";
import type { CatalogRpc } from "../../workers/shared/src/contracts/catalog";
import type { RpcFaults } from "../../workers/shared/src/contracts/faults";
import type { PaymentsRpc } from "../../workers/shared/src/contracts/payments";
import { drawRpcFault } from "../../workers/shared/src/faults";
import { derivedId } from "../../workers/shared/src/ids";
import { createLogger } from "../../workers/shared/src/log";
import { type MetricsBindings, recordMetric } from "../../workers/shared/src/metrics";
import { fail, type Result } from "../../workers/shared/src/result";
import {
  type Canceller,
  type CancelReply,
  hasEnded,
  initialSaga,
  type OrderReason,
  type RefundReply,
  type Reply,
  type RetryReply,
  type SagaCommand,
  type SagaConfig,
  type SagaEventData,
  type SagaEventType,
  type SagaInput,
  type SagaState,
  type SagaVars,
  type SagaView,
  type StepResult,
  sagaConfig,
  toSagaView,
  transition,
  upgradeSaga,
} from "./saga-machine";
import { STEPS } from "./steps";

/** Everything the saga needs to run an order, fixed when the order is placed. */
export interface SagaPlan {
  orderId: string;
  userId: string;
  lines: { productId: string; quantity: number }[];
  amountCents: number;
  currency: string;
  /** The W3C trace context of the request that placed the order: every call and event carries it. */
  traceparent?: string | null;
}

/** The orders-db writes the saga makes itself (its local steps and its projection). */
export interface SagaStore {
  /** Pending -> confirmed; false when the order is not pending. */
  confirm(orderId: string, now: string): Promise<boolean>;
  /** Pending -> cancelled with a reason; false when the order is not pending. */
  cancel(orderId: string, reason: OrderReason, now: string): Promise<boolean>;
  orderStatus(orderId: string): Promise<string | undefined>;
  /** The projection operators list (Durable Objects cannot be listed); `revision` orders writes. */
  saveSaga(orderId: string, saga: SagaView, revision: number, now: string): Promise<void>;
  /** Writes the saga's own event to the orders outbox, once by `id`. */
  recordEvent(id: string, type: SagaEventType, data: SagaEventData): Promise<void>;
  /** Injected faults for the saga's calls to catalog and payments (empty where faults are disabled). */
  faults(): Promise<RpcFaults>;
}

export interface OrderSagaEnv extends SagaVars, MetricsBindings {
  CATALOG: Pick<CatalogRpc, "reserve" | "commit" | "release" | "returnToStock">;
  PAYMENTS: Pick<PaymentsRpc, "authorize" | "capture" | "void" | "refund">;
  CIRCUIT_BREAKER: BreakerNamespace;
}

interface Stored {
  state: SagaState;
  plan: SagaPlan;
  revision: number;
}

/**
 * OrderSaga: one Durable Object per order, driving the pure machine of `saga-machine.ts`.
 *
 * For every event: read the state, run `transition`, write the state (SQLite, no await between
 * the read and the write), set the one alarm to `wakeAt`, project the view to orders-db, then
 * perform the commands and feed their answers back. Alarms drive every retry; a restarted object
 * feeds `resume`, so a call that was out when it stopped is issued again (every step is idempotent
 * by order id downstream). Calls to catalog and payments go through their CircuitBreaker.
 *
 * Abstract over its store so that it does not import the orders service's code: the orders Worker
 * exports the concrete class with its repository.
 */
export abstract class OrderSagaObject<Env extends OrderSagaEnv> extends DurableObject<Env> {
  #waiters: (() => void)[] = [];
  readonly #breakers: BreakerClient;
  readonly #config: SagaConfig;
  readonly #log = createLogger({ service: "shop-orders/saga" });

  /** The orders-db writes, raising their events with the order's trace. */
  protected abstract store(traceparent: string | null): SagaStore;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#config = sagaConfig(env);
    this.#breakers = new BreakerClient(() => env.CIRCUIT_BREAKER, {
      log: (message, fields) => this.#log.warn(message, fields),
    });
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
  #recordEnding(state: SagaState): void {
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
  async #afterWrite(state: SagaState, wakeAt: number | null, revision: number): Promise<void> {
    if (wakeAt === null) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(wakeAt);
    try {
      await this.store(null).saveSaga(state.orderId, toSagaView(state), revision, new Date().toISOString());
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
        const traceparent = this.#load()?.plan.traceparent ?? null;
        await this.store(traceparent).recordEvent(await derivedId("evt", command.id), command.event, command.data);
      } catch (error) {
        this.#log.warn("saga event not written; it is issued again", { event: command.event, error: String(error) });
        return;
      }
      this.#log.info("saga event", { event: command.event, ...command.data });
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
    const orderId = plan.orderId;
    const now = new Date().toISOString();
    const context = { traceparent: plan.traceparent ?? null };
    const toStep = (r: Result<unknown>): StepResult =>
      r.ok ? { ok: true } : { ok: false, code: r.code, detail: r.detail };
    try {
      if (spec.target === "orders") {
        const store = this.store(context.traceparent);
        // confirm_order is done once the order is past pending, including `cancelled` when a refund
        // was asked of this saga: only a confirmed order is cancelled for a refund, so a re-issued
        // confirm (its first answer lost) may find the refund overtook it. Refusing that would
        // retry forever and strand the queued refund, with the payment and stock held (steps.ts
        // describes it so). Read after the awaits: the refund may arrive while the write is out.
        const passed = (status: string | undefined) =>
          status === "confirmed" || status === "shipped" || (status === "cancelled" && !!this.#load()?.state.refund);
        const done =
          command.step === "confirm_order"
            ? (await store.confirm(orderId, now)) || passed(await store.orderStatus(orderId))
            : (await store.cancel(orderId, command.reason ?? "cancelled_by_admin", now)) ||
              (await store.orderStatus(orderId)) === "cancelled";
        return {
          result: done
            ? { ok: true }
            : { ok: false, code: "conflict", detail: `the order is ${await store.orderStatus(orderId)}` },
          breaker: null,
        };
      }
      const call = (): Promise<Result<unknown>> => {
        switch (command.step) {
          case "reserve_stock":
            return this.env.CATALOG.reserve(orderId, plan.lines, context);
          case "commit_stock":
            return this.env.CATALOG.commit(orderId, context);
          case "release_stock":
            return this.env.CATALOG.release(orderId, context);
          case "return_stock":
            return this.env.CATALOG.returnToStock(orderId, context);
          case "authorize_payment":
            return this.env.PAYMENTS.authorize(
              { orderId, amountCents: plan.amountCents, currency: plan.currency },
              context,
            );
          case "capture_payment":
            return this.env.PAYMENTS.capture(orderId, context);
          case "void_payment":
            return this.env.PAYMENTS.void(orderId, context);
          case "refund_payment":
            return this.env.PAYMENTS.refund(orderId, context);
          default:
            throw new Error(`no call for step ${command.step}`);
        }
      };
      const target = spec.target;
      const faults = await this.store(null).faults();
      const faulty = async (): Promise<Result<unknown>> => {
        // Injected faults (development only): the dependency fails, is slow, or acts and loses its answer.
        const fault = drawRpcFault(faults[target]);
        if (fault.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, fault.latencyMs));
        if (fault.outcome === "error") return fail("unavailable", `injected fault: ${target} failed`);
        const answer = await call();
        if (fault.outcome === "ambiguous")
          return fail("unavailable", `injected fault: the answer of ${target} was lost`);
        return answer;
      };
      const answer = await this.#breakers.call(target, faulty);
      return { result: toStep(answer), breaker: answer.trace };
    } catch (error) {
      this.#log.warn("saga step threw", { orderId, step: command.step, error: String(error) });
      return { result: { ok: false, code: "unavailable", detail: `${command.step} did not answer` }, breaker: null };
    }
  }

  // ------------------------------------------------------------------------------------------
  // RPC

  /** Starts the saga (idempotent: a started saga ignores it). */
  async start(plan: SagaPlan): Promise<SagaView> {
    this.#run({ type: "start" }, plan);
    return this.view() as SagaView;
  }

  view(): SagaView | null {
    const stored = this.#load();
    return stored ? toSagaView(stored.state) : null;
  }

  /** The view once the saga has come to rest, or as it stands after `timeoutMs`. */
  async awaitEnd(timeoutMs: number): Promise<SagaView | null> {
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
    return this.view();
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
