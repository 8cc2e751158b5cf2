import { WorkerEntrypoint } from "cloudflare:workers";
import { z } from "zod";
import { Outbox } from "../../../queues/outbox";
import { BreakerClient } from "../../shared/src/breaker-client";
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
import { fail, ok, type Result } from "../../shared/src/result";
import { Balancer } from "./balancer";
import { type ProviderEndpoint, paymentsConfig, providerApiKey } from "./config";
import * as payments from "./payments";
import { ProviderClient, putProviderFaults } from "./provider-client";
import { PaymentsRepository, type StoredAttempt } from "./repository";

export { OutboxRelay } from "./outbox-relay";

// Per isolate, so they outlive a request: the breakers' cache of `closed` answers, the
// round-robin cursor and the in-flight counts.
let breakers: BreakerClient | undefined;
let balancer: Balancer<ProviderEndpoint> | undefined;

/** One call's dependencies; its status changes stage their events in `outbox`. */
function deps(env: Env, outbox = new Outbox(env, "shop-payments", null)): payments.PaymentsDeps {
  const config = paymentsConfig(env);
  breakers ??= new BreakerClient(() => env.CIRCUIT_BREAKER);
  balancer ??= new Balancer(config.strategy, config.endpoints);
  return {
    repo: new PaymentsRepository(env.DB, outbox),
    provider: new ProviderClient({
      balancer,
      breakers,
      timeoutMs: config.timeoutMs,
      maxAttempts: config.maxAttempts,
      apiKey: providerApiKey(env),
    }),
  };
}

/** RPC input is untrusted like any other: a bad argument is a validation failure, not a throw. */
function parse<S extends z.ZodType>(schema: S, value: unknown): Result<z.infer<S>> {
  const parsed = schema.safeParse(value);
  return parsed.success ? ok(parsed.data) : fail("validation_failed", z.prettifyError(parsed.error));
}

/**
 * shop-payments. Its surface is RPC (other Workers call it over service bindings); it has no
 * public HTTP routes.
 */
export default class PaymentsService extends WorkerEntrypoint<Env> implements PaymentsRpc {
  override fetch(_request: Request): Response {
    return problemResponse("not_found", "shop-payments has no HTTP routes; use its RPC methods.", crypto.randomUUID());
  }

  /**
   * Runs a state-changing call with its own outbox (its events carry the caller's trace) and
   * sends what it staged once the change committed, off the answer's path.
   */
  async #changing<T>(context: CallContext | undefined, run: (deps: payments.PaymentsDeps) => Promise<T>): Promise<T> {
    const outbox = new Outbox(this.env, "shop-payments", traceparentOf(context));
    try {
      return await run(deps(this.env, outbox));
    } finally {
      this.ctx.waitUntil(outbox.flush());
    }
  }

  async health(): Promise<ServiceHealth> {
    await this.env.DB.prepare("SELECT 1").first();
    // The relay's alarm runs while its outbox holds rows; make sure it was ever started.
    await this.env.OUTBOX_RELAY.getByName("outbox").ensureScheduled();
    return { status: "ok", service: "shop-payments" };
  }

  async authorize(input: AuthorizeInput, context?: CallContext): Promise<Result<Payment>> {
    const checked = parse(AuthorizeInputSchema, input);
    return checked.ok ? this.#changing(context, (d) => payments.authorize(d, checked.value)) : checked;
  }

  async capture(orderId: string, context?: CallContext): Promise<Result<Payment>> {
    const checked = parse(OrderIdSchema, orderId);
    return checked.ok ? this.#changing(context, (d) => payments.capture(d, checked.value)) : checked;
  }

  async void(orderId: string, context?: CallContext): Promise<Result<Payment | null>> {
    const checked = parse(OrderIdSchema, orderId);
    return checked.ok ? this.#changing(context, (d) => payments.voidPayment(d, checked.value)) : checked;
  }

  async refund(orderId: string, context?: CallContext): Promise<Result<Payment>> {
    const checked = parse(OrderIdSchema, orderId);
    return checked.ok ? this.#changing(context, (d) => payments.refund(d, checked.value)) : checked;
  }

  async payment(orderId: string): Promise<Payment | null> {
    const checked = parse(OrderIdSchema, orderId);
    return checked.ok ? payments.payment(deps(this.env), checked.value) : null;
  }

  /** The provider ledger of one order: every attempt, skips included (operators, saga history). */
  async attempts(orderId: string): Promise<StoredAttempt[]> {
    const checked = parse(OrderIdSchema, orderId);
    return checked.ok ? payments.attempts(deps(this.env), checked.value) : [];
  }

  async setFaults(faults: Faults): Promise<Result<Faults>> {
    const config = paymentsConfig(this.env);
    // Where faults are disabled the feature does not exist, whatever the input.
    if (!config.faultsEnabled) return fail("not_found", "Faults cannot be set here.");
    const checked = parse(FaultsSchema, faults);
    return checked.ok ? payments.setFaults(config, checked.value, putProviderFaults) : checked;
  }
}
