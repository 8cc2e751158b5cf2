import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { Breaker } from "#shared/contracts/breaker";
import { type Health, HealthDetailSchema, HealthSchema, type ServiceCheck } from "#shared/contracts/health";
import { JwksSchema } from "#shared/contracts/users";
import { errorFields, type Logger } from "#shared/log";
import { gatewayConfig } from "../config";
import type { GatewayApp } from "../context";
import { memoise } from "../health/memo";
import { authorize } from "../middleware/authenticate";
import { SERVICES, type ServiceName } from "../services";
import { errorResponses, successHeaders } from "./responses";

/**
 * How long one isolate reuses its answer to GET /health (SPEC.md section 2: "a second or two"):
 * the route is anonymous and unlimited, so a burst must not become a burst on every service.
 */
export const HEALTH_MEMO_MS = 1500;

/** Pings one service through its binding within `timeoutMs`; never throws. */
async function checkService(env: Env, name: ServiceName, timeoutMs: number, log: Logger): Promise<ServiceCheck> {
  const started = Date.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([SERVICES[name](env).health(), timeout]);
    return { status: "ok", latencyMs: Date.now() - started };
  } catch (error) {
    log.warn("health check failed", { service: name, ...errorFields(error) });
    const message = error instanceof Error ? error.message : String(error);
    return { status: "down", latencyMs: Date.now() - started, error: message.slice(0, 300) };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

/** Every service at once, each within the configured timeout. */
async function checkServices(env: Env, log: Logger): Promise<Record<ServiceName, ServiceCheck>> {
  const { HEALTH_TIMEOUT_MS } = gatewayConfig(env);
  const names = Object.keys(SERVICES) as ServiceName[];
  const checks = await Promise.all(names.map((name) => checkService(env, name, HEALTH_TIMEOUT_MS, log)));
  return Object.fromEntries(names.map((name, i) => [name, checks[i]])) as Record<ServiceName, ServiceCheck>;
}

const overall = (checks: Record<string, ServiceCheck>) =>
  Object.values(checks).every((check) => check.status === "ok") ? ("ok" as const) : ("degraded" as const);

const healthRoute = createRoute({
  method: "get",
  path: "/health",
  operationId: "health",
  security: [],
  summary: "Health of the gateway and every service behind it (memoised per isolate for 1.5 s)",
  tags: ["platform"],
  responses: {
    200: { description: "Every service answered", content: { "application/json": { schema: HealthSchema } } },
    503: { description: "A service is down", content: { "application/json": { schema: HealthSchema } } },
    ...errorResponses({ api: false, authenticated: false, input: false, body: false, forwarded: false }),
  },
});

const healthDetailRoute = createRoute({
  method: "get",
  path: "/api/admin/health",
  operationId: "adminHealth",
  summary: "Every service with its latency and error, and every circuit breaker; checked afresh (admins)",
  tags: ["admin"],
  security: [{ bearer: [] }],
  middleware: [authorize("admin")] as const,
  responses: {
    200: {
      description: "The detailed health (`status` says whether anything is down)",
      headers: successHeaders(true),
      content: { "application/json": { schema: HealthDetailSchema } },
    },
    ...errorResponses({ api: true, authenticated: true, input: false, body: false, forwarded: true }),
  },
});

const jwksRoute = createRoute({
  method: "get",
  path: "/.well-known/jwks.json",
  operationId: "jwks",
  security: [],
  summary: "Public keys that sign access tokens (current and previous)",
  tags: ["platform"],
  responses: {
    200: { description: "JWKS", content: { "application/json": { schema: JwksSchema } } },
    ...errorResponses({ api: false, authenticated: false, input: false, body: false, forwarded: false }),
  },
});

/**
 * Health and JWKS: not rate limited, no authentication. GET /health answers from a per-isolate
 * memo (one per app, and one app per isolate), so concurrent callers share one fan-out; the
 * detailed view is an admin route under /api, rate limited like any other.
 */
export function mountPlatformRoutes(app: OpenAPIHono<GatewayApp>): void {
  const memoisedHealth = memoise<Health>(HEALTH_MEMO_MS);

  app.openapi(healthRoute, async (c) => {
    const log = c.get("log");
    const health = await memoisedHealth(async () => {
      const checks = await checkServices(c.env, log);
      const services = Object.fromEntries(Object.entries(checks).map(([name, check]) => [name, check.status]));
      return { status: overall(checks), services };
    });
    c.header("cache-control", "no-store");
    return c.json(health, health.status === "ok" ? 200 : 503);
  });

  app.openapi(healthDetailRoute, async (c) => {
    const log = c.get("log");
    const [services, breakers] = await Promise.all([
      checkServices(c.env, log),
      c.env.RESILIENCE.breakers().then(
        (list): Breaker[] | null => list,
        (error: unknown) => {
          log.warn("breakers unavailable for the health view", errorFields(error));
          return null;
        },
      ),
    ]);
    c.header("cache-control", "no-store");
    return c.json({ status: overall(services), checkedAt: new Date().toISOString(), services, breakers }, 200);
  });

  app.openapi(jwksRoute, async (c) => {
    c.header("cache-control", "public, max-age=300");
    return c.json(await c.env.USERS.jwks(), 200);
  });
}
