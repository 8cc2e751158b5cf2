import * as z from "zod";
import { DATASET_NAME } from "#do/metrics-store/queries";
import { readConfig } from "#shared/config";

const ConfigSchema = z.object({
  /** Where metrics() reads from: the local MetricsStore or Workers Analytics Engine. */
  METRICS_SOURCE: z.enum(["local", "analytics-engine"]),
  /** The Analytics Engine dataset the Workers write (each deployed environment has its own). */
  METRICS_DATASET: z.string().regex(DATASET_NAME, { error: "must be a dataset name (letters, digits, _)" }),
  CF_ACCOUNT_ID: z.string().optional(),
  CF_ANALYTICS_TOKEN: z.string().optional(),
});

export type OpsConfig = z.infer<typeof ConfigSchema>;

export function opsConfig(env: Env): OpsConfig {
  return readConfig(ConfigSchema, env);
}
