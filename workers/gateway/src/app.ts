import { OpenAPIHono } from "@hono/zod-openapi";
import { notFoundProblem, onProblem, requestContext } from "#shared/http";
import { ProblemException, problemResponse } from "#shared/problem";
import { fieldErrors } from "#shared/validation";
import { createVerifier, type TokenVerifier } from "./auth/verifier";
import { gatewayConfig } from "./config";
import type { GatewayApp } from "./context";
import { auditPrivileged } from "./middleware/audit";
import { authenticate } from "./middleware/authenticate";
import { stripInternalHeaders } from "./middleware/identity-headers";
import { rateLimit } from "./middleware/rate-limit";
import { requestMetrics } from "./middleware/request-metrics";
import { corsPolicy, securityHeaders } from "./middleware/security";
import { sizeLimits } from "./middleware/size-limits";
import { ADMIN_ROUTES } from "./routes/admin";
import { CATALOG_ROUTES } from "./routes/catalog";
import { mountConsole } from "./routes/console";
import { mountDocs } from "./routes/docs";
import { EVENT_ROUTES } from "./routes/events";
import { mountFaultsRoute } from "./routes/faults";
import { NOTIFICATION_ROUTES } from "./routes/notifications";
import { mountOpenApi } from "./routes/openapi";
import { mountMetricsRoute, OPS_ROUTES } from "./routes/ops";
import { ORDER_ROUTES } from "./routes/orders";
import { mountPlatformRoutes } from "./routes/platform";
import { allowedMethods, mountRoutes, type ProxyRoute } from "./routes/table";
import { USER_ROUTES } from "./routes/users";

export const PROXY_ROUTES: readonly ProxyRoute[] = [
  ...USER_ROUTES,
  ...CATALOG_ROUTES,
  ...ORDER_ROUTES,
  ...NOTIFICATION_ROUTES,
  ...ADMIN_ROUTES,
  ...EVENT_ROUTES,
  ...OPS_ROUTES,
];

const PLATFORM_PATHS = [
  { method: "get", path: "/health" },
  { method: "get", path: "/api/admin/health" },
  { method: "get", path: "/.well-known/jwks.json" },
  { method: "get", path: "/openapi.json" },
  { method: "get", path: "/docs" },
  { method: "get", path: "/admin" },
  { method: "put", path: "/api/admin/faults" },
  { method: "get", path: "/api/admin/metrics" },
];

// One verifier per isolate, so jose's JWKS cache lives as long as the isolate.
let verifier: TokenVerifier | undefined;
function verifierFor(env: Env): TokenVerifier {
  if (!verifier) {
    const config = gatewayConfig(env);
    verifier = createVerifier({
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      fetchJwks: (url, init) => env.USERS.fetch(url, init),
    });
  }
  return verifier;
}

/**
 * The gateway, in SPEC.md section 3's order of work: request id and trace -> security headers and
 * CORS -> size checks -> token check -> rate limit -> route (404, 405) -> authorisation ->
 * validation -> forward.
 */
export function createGateway(): OpenAPIHono<GatewayApp> {
  const app = new OpenAPIHono<GatewayApp>({
    defaultHook: (result) => {
      if (!result.success) {
        throw new ProblemException("validation_failed", {
          detail: `The request ${result.target === "json" ? "body" : result.target} is not valid.`,
          errors: fieldErrors(result.error),
        });
      }
    },
  });

  app.use(requestContext({ service: "shop-gateway", trustCaller: false }));
  app.use(requestMetrics([...PROXY_ROUTES, ...PLATFORM_PATHS]));
  app.use(securityHeaders());
  app.use(corsPolicy());
  app.use(stripInternalHeaders());
  app.use(sizeLimits());
  app.use(authenticate(verifierFor));
  app.use("/api/*", rateLimit());
  app.use("/api/*", auditPrivileged());

  mountPlatformRoutes(app);
  mountRoutes(app, PROXY_ROUTES);
  mountFaultsRoute(app);
  mountMetricsRoute(app);
  mountDocs(app);
  mountConsole(app);

  mountOpenApi(app);

  const allowedOn = allowedMethods([...PROXY_ROUTES, ...PLATFORM_PATHS]);
  app.notFound((c) => {
    const allow = allowedOn(c.req.path);
    if (allow.length === 0) return notFoundProblem(c);
    return problemResponse(
      "method_not_allowed",
      `${c.req.method} is not allowed here; use ${allow.join(", ")}.`,
      c.get("requestId"),
      {
        headers: { allow: allow.join(", ") },
      },
    );
  });
  app.onError(onProblem);
  return app;
}
