import type { OpenAPIHono } from "@hono/zod-openapi";
import type { GatewayApp } from "../context";
import { UNMATCHED_RESPONSES } from "./responses";

/** The document's frame: everything in /openapi.json that no single route says. */
export const OPENAPI_CONFIG = {
  openapi: "3.1.0",
  info: {
    title: "edge-shop",
    version: "0.1.0",
    description: [
      "E-commerce backend on Cloudflare Workers. Every error is RFC 9457 `application/problem+json`",
      "with a stable `code` and `instance = urn:uuid:<request id>`.",
      "",
      "- 401 always means the access token (Authorization) is missing or bad, and carries `WWW-Authenticate`;",
      "  a wrong credential in a body (password, refresh token) is a 400 with its own `code`.",
      "- Every `/api` response carries `RateLimit-Policy` and `RateLimit`; a 429 carries `Retry-After`.",
      "- A path that exists with another method is a 405 with `Allow`; an unknown path a 404",
      "  (`components.responses`: `MethodNotAllowed`, `NotFound`; and before routing, for any path,",
      "  `PayloadTooLarge`, `RequestHeaderFieldsTooLarge`, `TooManyRequests`, `ServiceUnavailable`).",
    ].join("\n"),
  },
  servers: [
    { url: "/", description: "The gateway that serves this document" },
    { url: "http://localhost:8787", description: "npm run dev" },
  ],
  tags: [
    { name: "auth", description: "Accounts, tokens and sessions" },
    { name: "users", description: "Profiles and roles" },
    { name: "catalog", description: "Products and stock" },
    { name: "orders", description: "Orders and their sagas" },
    { name: "notifications", description: "The messages sent to you" },
    { name: "admin", description: "Operations: breakers, sagas, events, dead letters, faults, health" },
    { name: "platform", description: "Health and signing keys" },
  ],
} as const;

/** Serves /openapi.json (not rate limited) with the security scheme and the shared responses. */
export function mountOpenApi(app: OpenAPIHono<GatewayApp>): void {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT (ES256, typ at+jwt)",
  });
  for (const [name, response] of Object.entries(UNMATCHED_RESPONSES)) {
    app.openAPIRegistry.registerComponent("responses", name, response as never);
  }
  app.doc31("/openapi.json", {
    ...OPENAPI_CONFIG,
    servers: [...OPENAPI_CONFIG.servers],
    tags: [...OPENAPI_CONFIG.tags],
  });
}

/** The published document, without serving it (for the client generator and the contract tests). */
export function openApiDocument(app: OpenAPIHono<GatewayApp>) {
  return app.getOpenAPI31Document({
    ...OPENAPI_CONFIG,
    servers: [...OPENAPI_CONFIG.servers],
    tags: [...OPENAPI_CONFIG.tags],
  });
}
