import type { Context, MiddlewareHandler } from "hono";
import { recordMetric } from "#shared/metrics";
import type { GatewayApp } from "../context";

/** The request's `waitUntil`; an app called without an execution context (`app.request`) has none. */
function waitUntilOf(c: Context<GatewayApp>): ((promise: Promise<unknown>) => void) | undefined {
  try {
    const ctx = c.executionCtx;
    return (promise) => ctx.waitUntil(promise);
  } catch {
    return undefined;
  }
}

/**
 * One metrics point per request (README "Metrics"): the route *template* (so ids do not explode
 * the cardinality; a path no route knows is "(unmatched)"), method, status, latency, the limiter's
 * outcome and the kind of caller. Outermost but for the request context, so it sees every answer,
 * problems included.
 */
export function requestMetrics(routes: readonly { method: string; path: string }[]): MiddlewareHandler<GatewayApp> {
  const compiled = routes.map((route) => ({
    method: route.method.toUpperCase(),
    path: route.path,
    pattern: new RegExp(`^${route.path.replace(/\{[^}]+\}/g, "[^/]+")}$`),
  }));
  const templateOf = (method: string, pathname: string) =>
    compiled.find((route) => route.method === method && route.pattern.test(pathname))?.path ??
    compiled.find((route) => route.pattern.test(pathname))?.path ??
    (pathname.startsWith("/docs/") ? "/docs/*" : "(unmatched)");

  return async function requestMetricsMiddleware(c, next) {
    const started = Date.now();
    await next();
    const pathname = c.req.path;
    const identity = c.get("identity");
    recordMetric(c.env, waitUntilOf(c), {
      kind: "request",
      route: templateOf(c.req.method, pathname),
      method: c.req.method,
      status: c.res.status,
      latencyMs: Math.max(0, Date.now() - started),
      limiter: !pathname.startsWith("/api/") ? "none" : c.res.status === 429 ? "refused" : "allowed",
      caller: identity ? (identity.role === "admin" ? "admin" : "user") : "anonymous",
    });
  };
}
