import * as z from "zod";
import { FaultSpecSchema as ProviderFaultSpecSchema, type Faults as ProviderFaults } from "./payments";

/**
 * Fault injection (`PUT /api/admin/faults`, only where FAULTS_ENABLED = "true"). Three kinds of
 * target: the payment provider (`psp`, `psp:<endpoint>`: the simulator fails, declines, hangs or
 * slows down), the saga's own dependencies (`catalog`, `payments`: their RPC calls from the saga
 * fail, slow down, or take effect while their answer is lost), and a queue consumer
 * (`notifications`: a share of its deliveries fails, so messages are retried and, failing every
 * retry, become dead letters).
 */

export const RPC_FAULT_TARGETS = ["catalog", "payments"] as const;
export type RpcFaultTarget = (typeof RPC_FAULT_TARGETS)[number];

const { errorRate: rate, latencyMs } = ProviderFaultSpecSchema.shape;
export const RpcFaultSpecSchema = z
  .strictObject({
    /** The call fails before it reaches the service (nothing happens). */
    errorRate: rate,
    /** The call takes effect, then its answer is lost: the caller sees a failure. */
    ambiguousRate: rate,
    latencyMs,
  })
  .meta({ id: "RpcFaultSpec" });
export type RpcFaultSpec = z.infer<typeof RpcFaultSpecSchema>;
/** The saga's targets alone (what shop-orders' setFaults takes). */
export const RpcFaultsSchema = z.strictObject({
  catalog: RpcFaultSpecSchema.optional(),
  payments: RpcFaultSpecSchema.optional(),
});
export type RpcFaults = Partial<Record<RpcFaultTarget, RpcFaultSpec>>;

/** A queue consumer's fault: `errorRate` of its deliveries fail (the message is retried). */
export const ConsumerFaultSpecSchema = z.strictObject({ errorRate: rate }).meta({ id: "ConsumerFaultSpec" });
export type ConsumerFaultSpec = z.infer<typeof ConsumerFaultSpecSchema>;
/** The consumers' targets alone (what shop-notifications' setFaults takes). */
export const ConsumerFaultsSchema = z.strictObject({ notifications: ConsumerFaultSpecSchema.optional() });
export type ConsumerFaults = z.infer<typeof ConsumerFaultsSchema>;

const PROVIDER_TARGET = /^psp(:[a-z0-9-]{1,32})?$/;
const NAMED_TARGETS: readonly string[] = [...RPC_FAULT_TARGETS, "notifications"];

/** Every target with its spec; zero rates or `{}` clear a target, targets not given stay as they are. */
export const FaultsSchema = z
  .object({ ...RpcFaultsSchema.shape, ...ConsumerFaultsSchema.shape })
  .catchall(ProviderFaultSpecSchema)
  .superRefine((faults, ctx) => {
    for (const target of Object.keys(faults)) {
      if (NAMED_TARGETS.includes(target) || PROVIDER_TARGET.test(target)) continue;
      ctx.addIssue({
        code: "custom",
        path: [target],
        message: 'Targets are "psp", "psp:<endpoint>", "catalog", "payments" and "notifications".',
      });
    }
  })
  .meta({
    id: "Faults",
    // The targets the refinement above accepts, published so that generated clients and validators know them.
    propertyNames: { pattern: "^(psp(:[a-z0-9-]{1,32})?|catalog|payments|notifications)$" },
    examples: [
      { psp: { errorRate: 1 } },
      { psp: {} },
      { payments: { ambiguousRate: 0.5, latencyMs: 200 } },
      { notifications: { errorRate: 1 } },
    ],
  });
export type Faults = z.infer<typeof FaultsSchema>;

/** The provider's targets (for the simulator), the saga's (for shop-orders) and the consumers'. */
export function splitFaults(faults: Faults): { provider: ProviderFaults; rpc: RpcFaults; consumer: ConsumerFaults } {
  const provider: ProviderFaults = {};
  const rpc: RpcFaults = {};
  const consumer: ConsumerFaults = {};
  for (const [target, spec] of Object.entries(faults)) {
    if (target === "catalog" || target === "payments") rpc[target] = spec as RpcFaultSpec;
    else if (target === "notifications") consumer.notifications = spec as ConsumerFaultSpec;
    else provider[target] = spec;
  }
  return { provider, rpc, consumer };
}
