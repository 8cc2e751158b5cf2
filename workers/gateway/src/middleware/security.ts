import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { secureHeaders } from "hono/secure-headers";
import { gatewayConfig, perConfig } from "../config";
import type { GatewayApp } from "../context";

const apiHeaders = secureHeaders({
  contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
  crossOriginResourcePolicy: "same-origin",
  strictTransportSecurity: "max-age=63072000; includeSubDomains",
});

// Swagger UI sets inline styles; scripts still come only from this origin.
const docsHeaders = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'", "'unsafe-inline'"],
    imgSrc: ["'self'", "data:"],
    frameAncestors: ["'none'"],
  },
  strictTransportSecurity: "max-age=63072000; includeSubDomains",
});

// The operations console: its own bundle and stylesheet only, no inline script or style, and it
// talks to this origin only.
const consoleHeaders = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", "data:"],
    connectSrc: ["'self'"],
    baseUri: ["'none'"],
    formAction: ["'none'"],
    frameAncestors: ["'none'"],
  },
  crossOriginResourcePolicy: "same-origin",
  referrerPolicy: "no-referrer",
  strictTransportSecurity: "max-age=63072000; includeSubDomains",
});

/** Security headers on every response (a looser CSP for the docs page, its own for the console). */
export function securityHeaders(): MiddlewareHandler<GatewayApp> {
  return function securityHeadersMiddleware(c, next) {
    const path = c.req.path;
    if (path.startsWith("/docs")) return docsHeaders(c, next);
    if (path === "/admin" || path.startsWith("/admin/")) return consoleHeaders(c, next);
    return apiHeaders(c, next);
  };
}

/** CORS for the configured origins only; answers preflights before any other work. */
export function corsPolicy(): MiddlewareHandler<GatewayApp> {
  // The origins are configuration, read at the first request; the middleware is built once per
  // configuration (so once per isolate), not per request.
  const built = perConfig((config) => {
    const origins = new Set(config.CORS_ORIGINS);
    return cors({
      origin: (origin) => (origins.has(origin) ? origin : null),
      allowMethods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
      allowHeaders: ["Authorization", "Content-Type", "Idempotency-Key"],
      exposeHeaders: ["Location", "RateLimit", "RateLimit-Policy", "Retry-After", "X-Request-Id", "WWW-Authenticate"],
      maxAge: 600,
    });
  });
  return function corsMiddleware(c, next) {
    return built(gatewayConfig(c.env))(c, next);
  };
}
