import * as z from "zod";
import { intVar, listVar, readConfig, requiredVar } from "#shared/config";
import { parsePolicy } from "./rate-limit/policies";

/** Gateway settings, read from vars once per isolate; a bad value fails at the first request. */
const ConfigSchema = z.object({
  JWT_ISSUER: requiredVar(),
  JWT_AUDIENCE: requiredVar(),
  CORS_ORIGINS: listVar(),
  MAX_BODY_BYTES: intVar(1),
  MAX_AUTHORIZATION_BYTES: intVar(1),
  HEALTH_TIMEOUT_MS: intVar(1),
  RATE_LIMIT_FAILURE_MODE: z.enum(["open", "closed"]),
  RATE_LIMIT_ANON: z.string().transform((text, ctx) => parsePolicy("anon", text, ctx)),
  RATE_LIMIT_USER: z.string().transform((text, ctx) => parsePolicy("user", text, ctx)),
  RATE_LIMIT_LOGIN: z.string().transform((text, ctx) => parsePolicy("login", text, ctx)),
  RATE_LIMIT_PASSWORD: z.string().transform((text, ctx) => parsePolicy("password", text, ctx)),
});

export type GatewayConfig = z.infer<typeof ConfigSchema>;

let cached: { env: unknown; config: GatewayConfig } | undefined;

export function gatewayConfig(env: Env): GatewayConfig {
  if (cached?.env !== env) cached = { env, config: readConfig(ConfigSchema, env) };
  return cached.config;
}

/**
 * Memoises what is built from a configuration (a middleware, a policy table): built at the first
 * request that reads it, then reused for every request with the same configuration.
 */
export function perConfig<T>(build: (config: GatewayConfig) => T): (config: GatewayConfig) => T {
  const built = new WeakMap<GatewayConfig, T>();
  return (config) => {
    let value = built.get(config);
    if (value === undefined) {
      value = build(config);
      built.set(config, value);
    }
    return value;
  };
}
