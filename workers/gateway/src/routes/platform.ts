import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { HealthSchema } from "../../../shared/src/contracts/health";
import { JwksSchema } from "../../../shared/src/contracts/users";
import { errorFields } from "../../../shared/src/log";
import { gatewayConfig } from "../config";
import type { GatewayApp } from "../context";
import { SERVICES, type ServiceName } from "../services";

async function ping(check: () => Promise<unknown>, timeoutMs: number): Promise<"ok" | "down"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"down">((resolve) => {
    timer = setTimeout(() => resolve("down"), timeoutMs);
  });
  try {
    return await Promise.race([check().then(() => "ok" as const), timeout]);
  } catch {
    return "down";
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

const healthRoute = createRoute({
  method: "get",
  path: "/health",
  summary: "Health of the gateway and every service behind it",
  tags: ["platform"],
  responses: {
    200: { description: "Every service answered", content: { "application/json": { schema: HealthSchema } } },
    503: { description: "A service is down", content: { "application/json": { schema: HealthSchema } } },
  },
});

const jwksRoute = createRoute({
  method: "get",
  path: "/.well-known/jwks.json",
  summary: "Public keys that sign access tokens (current and previous)",
  tags: ["platform"],
  responses: { 200: { description: "JWKS", content: { "application/json": { schema: JwksSchema } } } },
});

/** Health, JWKS: not rate limited, no authentication. */
export function mountPlatformRoutes(app: OpenAPIHono<GatewayApp>): void {
  app.openapi(healthRoute, async (c) => {
    const { HEALTH_TIMEOUT_MS } = gatewayConfig(c.env);
    const names = Object.keys(SERVICES) as ServiceName[];
    const results = await Promise.all(
      names.map((name) =>
        ping(async () => {
          try {
            return await SERVICES[name](c.env).health();
          } catch (error) {
            c.get("log").warn("health check failed", { service: name, ...errorFields(error) });
            throw error;
          }
        }, HEALTH_TIMEOUT_MS),
      ),
    );
    const services = Object.fromEntries(names.map((name, i) => [name, results[i] ?? "down"]));
    const status = results.every((r) => r === "ok") ? "ok" : "degraded";
    c.header("cache-control", "no-store");
    return c.json({ status, services }, status === "ok" ? 200 : 503);
  });

  app.openapi(jwksRoute, async (c) => {
    c.header("cache-control", "public, max-age=300");
    return c.json(await c.env.USERS.jwks(), 200);
  });
}
