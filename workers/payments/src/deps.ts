import type { Outbox } from "#queues/outbox";
import { BreakerClient } from "#shared/breaker-client";
import { parseTraceparent } from "#shared/trace";
import { Balancer } from "./balancer";
import { type ProviderEndpoint, paymentsConfig, providerApiKey } from "./config";
import type { PaymentsDeps } from "./payments";
import { ProviderClient } from "./provider-client";
import { PaymentsRepository } from "./repository";

// Per isolate, so they outlive a request: the breakers' cache of `closed` answers, the
// round-robin cursor and the in-flight counts.
let breakers: BreakerClient | undefined;
let balancer: Balancer<ProviderEndpoint> | undefined;

/**
 * One call's dependencies (inside its `unitOfWork`); its status changes stage their events in
 * `outbox`, and its provider calls are child spans of the caller's `traceparent`.
 */
export function deps(env: Env, outbox: Outbox, traceparent: string | null = null): PaymentsDeps {
  const config = paymentsConfig(env);
  breakers ??= new BreakerClient(() => env.CIRCUIT_BREAKER);
  balancer ??= new Balancer(config.strategy, config.endpoints);
  const repo = new PaymentsRepository(env.DB, outbox);
  return {
    repo,
    provider: new ProviderClient({
      balancer,
      breakers,
      timeoutMs: config.timeoutMs,
      maxAttempts: config.maxAttempts,
      apiKey: providerApiKey(env),
      parent: parseTraceparent(traceparent),
    }),
    scheduleRecheck: async (orderId) => {
      const dueAt = Date.now() + config.voidRecheckDelayMs;
      await repo.scheduleVoidCheck(orderId, new Date(dueAt).toISOString());
      await env.VOID_RECONCILER.getByName("reconciler").wakeBy(dueAt);
    },
  };
}
