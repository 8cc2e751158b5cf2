import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { secureHeaders } from "hono/secure-headers";
import { gatewayConfig } from "../config";
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

/** Security headers on every response (a looser CSP for the docs page only). */
export function securityHeaders(): MiddlewareHandler<GatewayApp> {
  return function securityHeadersMiddleware(c, next) {
    return new URL(c.req.url).pathname.startsWith("/docs") ? docsHeaders(c, next) : apiHeaders(c, next);
  };
}

/** CORS for the configured origins only; answers preflights before any other work. */
export function corsPolicy(): MiddlewareHandler<GatewayApp> {
  return function corsMiddleware(c, next) {
    const { CORS_ORIGINS } = gatewayConfig(c.env);
    return cors({
      origin: (origin) => (CORS_ORIGINS.includes(origin) ? origin : null),
      allowMethods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
      allowHeaders: ["Authorization", "Content-Type", "Idempotency-Key"],
      exposeHeaders: ["Location", "RateLimit", "RateLimit-Policy", "Retry-After", "X-Request-Id", "WWW-Authenticate"],
      maxAge: 600,
    })(c, next);
  };
}
