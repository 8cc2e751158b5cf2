import * as z from "zod";

const ConfigSchema = z.object({
  ORDER_WAIT_MS: z.coerce.number().int().min(0).max(30_000),
  SWEEP_INTERVAL_MS: z.coerce.number().int().min(1_000),
  SWEEP_PENDING_AFTER_MS: z.coerce.number().int().min(0),
  IDEMPOTENCY_TTL_SECONDS: z.coerce.number().int().min(60),
});

export type OrdersConfig = z.infer<typeof ConfigSchema>;

export function ordersConfig(env: Env): OrdersConfig {
  return ConfigSchema.parse(env);
}
