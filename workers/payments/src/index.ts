import { WorkerEntrypoint } from "cloudflare:workers";
import { outboxBacklog, unitOfWork } from "#queues/outbox";
import { type CallContext, causeOf, OrderIdSchema, systemActor } from "#shared/contracts/common";
import type { OutboxBacklog } from "#shared/contracts/events";
import type { ServiceHealth } from "#shared/contracts/health";
import {
  type AuthorizeInput,
  AuthorizeInputSchema,
  type Faults,
  FaultsSchema,
  type Payment,
  type PaymentsRpc,
} from "#shared/contracts/payments";
import { problemResponse } from "#shared/problem";
import { fail, ok, type Result } from "#shared/result";
import { span } from "#shared/span";
import { formatTraceparent, parseTraceparent } from "#shared/trace";
import { parseResult } from "#shared/validation";
import { paymentsConfig } from "./config";
import { deps } from "./deps";
import * as payments from "./payments";
import { putProviderFaults } from "./provider-client";
import type { StoredAttempt } from "./repository";

export { OutboxRelay } from "./outbox-relay";
export { VoidReconciler } from "./void-reconciler";

/**
 * shop-payments. Its surface is RPC (other Workers call it over service bindings); it has no
 * public HTTP routes.
 */
export default class PaymentsService extends WorkerEntrypoint<Env> implements PaymentsRpc {
  override fetch(_request: Request): Response {
    return problemResponse("not_found", "shop-payments has no HTTP routes; use its RPC methods.", crypto.randomUUID());
  }

  /** A read: a unit of work that stages nothing, so it flushes nothing. */
  #reading<T>(run: (deps: payments.PaymentsDeps) => Promise<T>): Promise<T> {
    const cause = { traceparent: null, actor: systemActor("shop-payments") };
    return unitOfWork(this.ctx, this.env, "shop-payments", cause, (outbox) => run(deps(this.env, outbox)));
  }

  /**
   * Runs a state-changing call as a span of the caller's trace, as one unit of work: its events
   * carry the span and the caller's actor (provider calls are child spans), and are sent once the
   * change committed, off the answer's path.
   */
  #changing<T>(
    method: string,
    context: CallContext | undefined,
    run: (deps: payments.PaymentsDeps) => Promise<T>,
  ): Promise<T> {
    const cause = causeOf(context, "shop-payments");
    return span(
      { service: "shop-payments", name: `rpc payments.${method}`, parent: parseTraceparent(cause.traceparent) },
      (trace) => {
        // Events carry this span (a child of the caller's); a call with no trace raises untraced events.
        const traceparent = cause.traceparent ? formatTraceparent(trace) : null;
        return unitOfWork(this.ctx, this.env, "shop-payments", { ...cause, traceparent }, (outbox) =>
          run(deps(this.env, outbox, traceparent)),
        );
      },
    );
  }

  /** What the outbox holds unconfirmed (shop-alerts' `outbox_stale`). */
  outboxBacklog(): Promise<OutboxBacklog> {
    return outboxBacklog(this.env.DB);
  }

  async health(): Promise<ServiceHealth> {
    await this.env.DB.prepare("SELECT 1").first();
    // The relay's alarm runs while its outbox holds rows; make sure it was ever started.
    await this.env.OUTBOX_RELAY.getByName("outbox").ensureScheduled();
    return { status: "ok", service: "shop-payments" };
  }

  async authorize(input: AuthorizeInput, context?: CallContext): Promise<Result<Payment>> {
    const checked = parseResult(AuthorizeInputSchema, input);
    return checked.ok ? this.#changing("authorize", context, (d) => payments.authorize(d, checked.value)) : checked;
  }

  async capture(orderId: string, context?: CallContext): Promise<Result<Payment>> {
    const checked = parseResult(OrderIdSchema, orderId);
    return checked.ok ? this.#changing("capture", context, (d) => payments.capture(d, checked.value)) : checked;
  }

  async void(orderId: string, context?: CallContext): Promise<Result<Payment | null>> {
    const checked = parseResult(OrderIdSchema, orderId);
    return checked.ok ? this.#changing("void", context, (d) => payments.voidPayment(d, checked.value)) : checked;
  }

  async refund(orderId: string, context?: CallContext): Promise<Result<Payment>> {
    const checked = parseResult(OrderIdSchema, orderId);
    return checked.ok ? this.#changing("refund", context, (d) => payments.refund(d, checked.value)) : checked;
  }

  async payment(orderId: string): Promise<Result<Payment | null>> {
    const checked = parseResult(OrderIdSchema, orderId, "order id");
    return checked.ok ? ok(await this.#reading((d) => payments.payment(d, checked.value))) : checked;
  }

  /** The provider ledger of one order: every attempt, skips included (operators, saga history). */
  async attempts(orderId: string): Promise<Result<StoredAttempt[]>> {
    const checked = parseResult(OrderIdSchema, orderId, "order id");
    return checked.ok ? ok(await this.#reading((d) => payments.attempts(d, checked.value))) : checked;
  }

  async setFaults(faults: Faults): Promise<Result<Faults>> {
    const config = paymentsConfig(this.env);
    // Where faults are disabled the feature does not exist, whatever the input.
    if (!config.faultsEnabled) return fail("not_found", "Faults cannot be set here.");
    const checked = parseResult(FaultsSchema, faults);
    return checked.ok ? payments.setFaults(config, checked.value, putProviderFaults) : checked;
  }
}
