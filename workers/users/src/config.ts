import * as z from "zod";
import type { TokenConfig } from "./tokens";

const ConfigSchema = z.object({
  JWT_ISSUER: z.string().min(1),
  JWT_AUDIENCE: z.string().min(1),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(3600),
  REFRESH_TOKEN_TTL_SECONDS: z.coerce.number().int().min(3600),
});

/** Reads the token settings from the environment; a bad value fails loudly at the first request. */
export function tokenConfig(env: Env): TokenConfig {
  const config = ConfigSchema.parse(env);
  return {
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    accessTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
    refreshTtlSeconds: config.REFRESH_TOKEN_TTL_SECONDS,
  };
}
