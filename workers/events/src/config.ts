import * as z from "zod";
import { intVar, readConfig } from "#shared/config";

const ConfigSchema = z.object({ EVENT_RETENTION_DAYS: intVar(1, { fallback: 30 }) });

export function eventsConfig(env: Env) {
  return { retentionDays: readConfig(ConfigSchema, env).EVENT_RETENTION_DAYS };
}
