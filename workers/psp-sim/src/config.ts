import * as z from "zod";
import { flagVar, listVar, readConfig } from "#shared/config";

const EndpointNameSchema = z
  .string()
  .trim()
  .regex(/^[a-z0-9-]{1,32}$/, { error: "Endpoint names are 1..32 of a-z, 0-9, -." })
  .refine((name) => name !== "admin", { error: '"admin" is reserved.' });

const ConfigSchema = z.object({
  PSP_ENDPOINTS: listVar().pipe(z.array(EndpointNameSchema).min(1)),
  FAULTS_ENABLED: flagVar(),
  PSP_API_KEY: z.string({ error: "PSP_API_KEY is not set." }).min(16, { error: "PSP_API_KEY is too short." }),
});

export interface SimConfig {
  endpoints: ReadonlySet<string>;
  faultsEnabled: boolean;
  /** The key every provider API request must carry as `Authorization: Bearer`. */
  apiKey: string;
}

/** Reads the simulator's settings; a bad value fails loudly at the first request. */
export function simConfig(env: Env): SimConfig {
  const config = readConfig(ConfigSchema, env);
  return {
    endpoints: new Set(config.PSP_ENDPOINTS),
    faultsEnabled: config.FAULTS_ENABLED,
    apiKey: config.PSP_API_KEY,
  };
}
