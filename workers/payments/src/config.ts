import * as z from "zod";
import { flagVar, intVar, readConfig } from "#shared/config";
import { type BalancedEndpoint, STRATEGIES, type Strategy } from "./balancer";

export interface ProviderEndpoint extends BalancedEndpoint {
  /** Base URL of the endpoint's API, e.g. http://127.0.0.1:8788/a (paths go under /v1). */
  url: string;
}

export interface PaymentsConfig {
  endpoints: ProviderEndpoint[];
  strategy: Strategy;
  timeoutMs: number;
  maxAttempts: number;
  faultsEnabled: boolean;
  adminUrl: string | null;
  /** How long after a void that found nothing it looks again. */
  voidRecheckDelayMs: number;
}

const NAME = /^[a-z0-9-]{1,32}$/;

const EndpointListSchema = z
  .string()
  .transform((list, ctx) => {
    const endpoints: { name: string; url: string }[] = [];
    for (const item of list.split(",").map((part) => part.trim())) {
      const at = item.indexOf("=");
      const name = item.slice(0, at);
      const url = z.url({ protocol: /^https?$/ }).safeParse(item.slice(at + 1));
      if (at < 1 || !NAME.test(name) || !url.success) {
        ctx.addIssue({ code: "custom", message: `"${item}" is not name=http(s)://url` });
        return z.NEVER;
      }
      if (endpoints.some((e) => e.name === name)) {
        ctx.addIssue({ code: "custom", message: `endpoint ${name} is listed twice` });
        return z.NEVER;
      }
      endpoints.push({ name, url: url.data.replace(/\/+$/, "") });
    }
    return endpoints;
  })
  .pipe(z.array(z.object({ name: z.string(), url: z.string() })).min(1));

const WeightsSchema = z.string().transform((list, ctx) => {
  const weights = new Map<string, number>();
  for (const item of list
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean)) {
    const match = /^([a-z0-9-]{1,32})=(\d{1,6})$/.exec(item);
    if (!match) {
      ctx.addIssue({ code: "custom", message: `"${item}" is not name=<integer weight>` });
      return z.NEVER;
    }
    weights.set(match[1] as string, Number(match[2]));
  }
  return weights;
});

const ConfigSchema = z.object({
  PSP_ENDPOINTS: EndpointListSchema,
  PSP_STRATEGY: z.enum(STRATEGIES),
  PSP_WEIGHTS: WeightsSchema.default(new Map()),
  PSP_TIMEOUT_MS: intVar(10, { max: 60_000 }),
  PSP_MAX_ATTEMPTS: intVar(1, { max: 10 }),
  PSP_ADMIN_URL: z.string().optional(),
  FAULTS_ENABLED: flagVar(),
  VOID_RECHECK_DELAY_MS: intVar(0, { fallback: 60_000 }),
});

/** The vars of wrangler.toml this module reads (the Worker's Env has them all). */
export interface PaymentsVars {
  PSP_ENDPOINTS: string;
  PSP_STRATEGY: string;
  PSP_WEIGHTS?: string;
  PSP_TIMEOUT_MS: string;
  PSP_MAX_ATTEMPTS: string;
  PSP_ADMIN_URL?: string;
  FAULTS_ENABLED?: string;
  VOID_RECHECK_DELAY_MS?: string;
}

/**
 * Reads the provider settings; a bad value fails loudly at the first call. Endpoints missing
 * from PSP_WEIGHTS weigh 1; a weight names a configured endpoint or it is an error.
 */
export function paymentsConfig(vars: PaymentsVars): PaymentsConfig {
  const config = readConfig(ConfigSchema, vars);
  for (const name of config.PSP_WEIGHTS.keys()) {
    if (!config.PSP_ENDPOINTS.some((e) => e.name === name)) {
      throw new Error(`PSP_WEIGHTS names ${name}, which is not in PSP_ENDPOINTS`);
    }
  }
  return {
    endpoints: config.PSP_ENDPOINTS.map((e) => ({ ...e, weight: config.PSP_WEIGHTS.get(e.name) ?? 1 })),
    strategy: config.PSP_STRATEGY,
    timeoutMs: config.PSP_TIMEOUT_MS,
    maxAttempts: config.PSP_MAX_ATTEMPTS,
    faultsEnabled: config.FAULTS_ENABLED,
    adminUrl: config.PSP_ADMIN_URL ? config.PSP_ADMIN_URL.replace(/\/+$/, "") : null,
    voidRecheckDelayMs: config.VOID_RECHECK_DELAY_MS,
  };
}

/** The provider API key (a secret): sent on every provider call, never logged. */
const ApiKeySchema = z
  .string({ error: "PSP_API_KEY is not set (a secret: .dev.vars locally, `wrangler secret` on Cloudflare)." })
  .min(16, { error: "PSP_API_KEY is shorter than 16 characters." })
  .regex(/^[\x21-\x7e]+$/, { error: "PSP_API_KEY holds characters a header cannot carry." });

/** Reads PSP_API_KEY; a missing or malformed key fails loudly at the first call, like any bad setting. */
export function providerApiKey(vars: { PSP_API_KEY?: string }): string {
  return readConfig(z.object({ PSP_API_KEY: ApiKeySchema }), vars).PSP_API_KEY;
}
