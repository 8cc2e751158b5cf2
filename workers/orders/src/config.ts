import * as z from "zod";
import { intVar, readConfig } from "#shared/config";

const ConfigSchema = z.object({
  ORDER_WAIT_MS: intVar(0, { max: 30_000 }),
  SWEEP_INTERVAL_MS: intVar(1_000),
  SWEEP_PENDING_AFTER_MS: intVar(0),
  IDEMPOTENCY_TTL_SECONDS: intVar(60),
});

export type OrdersConfig = z.infer<typeof ConfigSchema>;

export function ordersConfig(env: Env): OrdersConfig {
  return readConfig(ConfigSchema, env);
}
