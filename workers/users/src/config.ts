import * as z from "zod";
import { intVar, readConfig, requiredVar } from "#shared/config";
import type { TokenConfig } from "./tokens";

const ConfigSchema = z.object({
  JWT_ISSUER: requiredVar(),
  JWT_AUDIENCE: requiredVar(),
  ACCESS_TOKEN_TTL_SECONDS: intVar(60, { max: 3600 }),
  REFRESH_TOKEN_TTL_SECONDS: intVar(3600),
});

/** Reads the token settings from the environment; a bad value fails loudly at the first request. */
export function tokenConfig(env: Env): TokenConfig {
  const config = readConfig(ConfigSchema, env);
  return {
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    accessTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
    refreshTtlSeconds: config.REFRESH_TOKEN_TTL_SECONDS,
  };
}
