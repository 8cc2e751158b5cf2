import { WorkerEntrypoint } from "cloudflare:workers";
import { unitOfWork } from "../../../queues/outbox";
import { type CallContext, OrderIdSchema, traceparentOf } from "../../shared/src/contracts/common";
import type { ServiceHealth } from "../../shared/src/contracts/health";
import {
  type AuthorizeInput,
  AuthorizeInputSchema,
  type Faults,
  FaultsSchema,
  type Payment,
  type PaymentsRpc,
} from "../../shared/src/contracts/payments";
import { problemResponse } from "../../shared/src/problem";
import { fail, type Result } from "../../shared/src/result";
import { parseResult } from "../../shared/src/validation";
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

  /** One RPC call is one unit of work: its events carry the caller's trace, flushed once after it. */
  #changing<T>(context: CallContext | undefined, run: (deps: payments.PaymentsDeps) => Promise<T>): Promise<T> {
    const traceparent = traceparentOf(context);
    return unitOfWork(this.ctx, this.env, "shop-payments", traceparent, (outbox) =>
      run(deps(this.env, outbox, traceparent)),
    );
  }

  async health(): Promise<ServiceHealth> {
    await this.env.DB.prepare("SELECT 1").first();
    // The relay's alarm runs while its outbox holds rows; make sure it was ever started.
    await this.env.OUTBOX_RELAY.getByName("outbox").ensureScheduled();
    return { status: "ok", service: "shop-payments" };
  }

  async authorize(input: AuthorizeInput, context?: CallContext): Promise<Result<Payment>> {
    const checked = parseResult(AuthorizeInputSchema, input);
    return checked.ok ? this.#changing(context, (d) => payments.authorize(d, checked.value)) : checked;
  }

  async capture(orderId: string, context?: CallContext): Promise<Result<Payment>> {
    const checked = parseResult(OrderIdSchema, orderId);
    return checked.ok ? this.#changing(context, (d) => payments.capture(d, checked.value)) : checked;
  }

  async void(orderId: string, context?: CallContext): Promise<Result<Payment | null>> {
    const checked = parseResult(OrderIdSchema, orderId);
    return checked.ok ? this.#changing(context, (d) => payments.voidPayment(d, checked.value)) : checked;
  }

  async refund(orderId: string, context?: CallContext): Promise<Result<Payment>> {
    const checked = parseResult(OrderIdSchema, orderId);
    return checked.ok ? this.#changing(context, (d) => payments.refund(d, checked.value)) : checked;
  }

  async payment(orderId: string): Promise<Payment | null> {
    const checked = parseResult(OrderIdSchema, orderId);
    return checked.ok ? this.#changing(undefined, (d) => payments.payment(d, checked.value)) : null;
  }

  /** The provider ledger of one order: every attempt, skips included (operators, saga history). */
  async attempts(orderId: string): Promise<StoredAttempt[]> {
    const checked = parseResult(OrderIdSchema, orderId);
    return checked.ok ? this.#changing(undefined, (d) => payments.attempts(d, checked.value)) : [];
  }

  async setFaults(faults: Faults): Promise<Result<Faults>> {
    const config = paymentsConfig(this.env);
    // Where faults are disabled the feature does not exist, whatever the input.
    if (!config.faultsEnabled) return fail("not_found", "Faults cannot be set here.");
    const checked = parseResult(FaultsSchema, faults);
    return checked.ok ? payments.setFaults(config, checked.value, putProviderFaults) : checked;
  }
}
