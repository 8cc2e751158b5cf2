/**
 * What differs between environments, in one place. `development` is the committed wrangler configs
 * as they are (`npm run dev`, the tests). `staging` and `production` are generated from those same
 * configs (scripts/env-config.ts): every binding kept, every Worker, database and queue renamed
 * with the environment's suffix (and every reference to them), and the settings below applied.
 * Edit this file to point an environment at your domain and your payment provider.
 */
import * as z from "zod";

const Url = z.url({ protocol: /^https?$/ });

const RatePolicy = z.string().regex(/^\d{1,10}\/\d{1,7}$/, { error: "limit/windowSeconds" });

export const EnvironmentSchema = z.strictObject({
  /** Appended to every Worker, D1 database and queue name ("" keeps the committed names). */
  suffix: z.string().regex(/^(-[a-z0-9]+)?$/),
  /** The gateway's public address: workers.dev (needs the account's subdomain) and/or routes. */
  gateway: z.strictObject({
    workersDev: z.boolean(),
    routes: z.array(z.strictObject({ pattern: z.string().min(1), custom_domain: z.boolean().optional() })),
  }),
  corsOrigins: z.array(Url).min(1),
  issuer: Url,
  audience: z.string().min(1),
  rateLimits: z.strictObject({ anon: RatePolicy, user: RatePolicy, login: RatePolicy }),
  sagaDeadlineMs: z.number().int().min(10_000).max(3_600_000),
  /** "local" (records messages, sends nothing) exists only in development. */
  sender: z.enum(["http"]),
  /**
   * The payment provider: "simulator" deploys shop-psp-sim<suffix> beside the system (faults off)
   * and points payments at it over HTTPS; otherwise "name=https://base,..." of a real provider.
   */
  provider: z.union([z.literal("simulator"), z.string().min(1)]),
  /** Fraction of requests whose logs and traces Workers Observability keeps. */
  sampling: z.number().min(0).max(1),
});

export type Environment = z.infer<typeof EnvironmentSchema>;
export type EnvironmentName = "staging" | "production";
export const DEPLOYABLE: readonly EnvironmentName[] = ["staging", "production"];

const SPEC_LIMITS = { anon: "100/900", user: "600/60", login: "10/900" };

export const ENVIRONMENTS: Record<EnvironmentName, Environment> = {
  staging: {
    suffix: "-staging",
    gateway: { workersDev: true, routes: [] },
    corsOrigins: ["https://staging.edge-shop.example"],
    issuer: "https://users.staging.edge-shop.example",
    audience: "edge-shop-staging",
    rateLimits: SPEC_LIMITS,
    sagaDeadlineMs: 120_000,
    sender: "http",
    provider: "simulator",
    sampling: 1,
  },
  production: {
    suffix: "",
    // Add a custom domain here (e.g. { pattern: "api.shop.example", custom_domain: true }).
    gateway: { workersDev: true, routes: [] },
    corsOrigins: ["https://shop.edge-shop.example"],
    issuer: "https://users.edge-shop.example",
    audience: "edge-shop",
    rateLimits: SPEC_LIMITS,
    sagaDeadlineMs: 120_000,
    sender: "http",
    // Your provider's endpoints (HTTPS, public hosts); its key goes in the PSP_API_KEY secret.
    provider: "a=https://a.psp.example/a,b=https://b.psp.example/b",
    sampling: 0.1,
  },
};

export function environment(name: string): { name: EnvironmentName; settings: Environment } {
  if (!DEPLOYABLE.includes(name as EnvironmentName)) {
    throw new Error(`unknown environment "${name}": use --env ${DEPLOYABLE.join(" or --env ")}`);
  }
  return { name: name as EnvironmentName, settings: EnvironmentSchema.parse(ENVIRONMENTS[name as EnvironmentName]) };
}
