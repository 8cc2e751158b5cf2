import { createRoute, type OpenAPIHono, type RouteConfig } from "@hono/zod-openapi";
import type { z } from "zod";
import { ProblemSchema } from "../../../shared/src/contracts/problem";
import type { GatewayApp } from "../context";
import { type Access, authorize } from "../middleware/authenticate";
import { forward } from "./forward";

/**
 * The gateway's route table. Each public route names who may call it, the schemas it validates
 * (which also document it in /openapi.json) and the service binding it forwards to.
 */
export interface ProxyRoute {
  method: "get" | "post" | "put" | "patch" | "delete";
  path: string; // OpenAPI style: /api/users/{id}
  summary: string;
  tag: string;
  access: Access;
  service: (env: Env) => Fetcher;
  params?: z.ZodObject;
  query?: z.ZodObject;
  headers?: z.ZodObject;
  body?: z.ZodType;
  success: { status: number; description: string; schema?: z.ZodType };
  errors?: number[];
}

/** An OpenAPI response whose body is a problem document. */
export const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: ProblemSchema } },
});

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: "Invalid input",
  401: "No or invalid access token",
  403: "Not allowed for this caller",
  404: "Not found",
  409: "Conflict",
  413: "Body too large",
  422: "Unprocessable",
  429: "Rate limited",
  502: "A service failed",
};

export function toRouteConfig(route: ProxyRoute): RouteConfig {
  const responses: RouteConfig["responses"] = {
    [route.success.status]: route.success.schema
      ? { description: route.success.description, content: { "application/json": { schema: route.success.schema } } }
      : { description: route.success.description },
  };
  const statuses = new Set([400, 429, 502, ...(route.errors ?? [])]);
  if (route.access !== "public") {
    statuses.add(401);
    statuses.add(403);
  }
  for (const status of statuses) responses[status] = problem(ERROR_DESCRIPTIONS[status] ?? "Error");
  return createRoute({
    method: route.method,
    path: route.path,
    summary: route.summary,
    tags: [route.tag],
    security: route.access === "public" ? [] : [{ bearer: [] }],
    middleware: [authorize(route.access)] as const,
    request: {
      ...(route.params ? { params: route.params } : {}),
      ...(route.query ? { query: route.query } : {}),
      ...(route.headers ? { headers: route.headers } : {}),
      ...(route.body ? { body: { required: true, content: { "application/json": { schema: route.body } } } } : {}),
    },
    responses,
  });
}

/** Registers every route on the app; each forwards to its service once authorised and validated. */
export function mountRoutes(app: OpenAPIHono<GatewayApp>, routes: readonly ProxyRoute[]): void {
  for (const route of routes) {
    app.openapi(toRouteConfig(route), (c) => forward(c, route.service(c.env)) as never);
  }
}

/** The methods allowed on a path, to answer 405 with `Allow` rather than 404. */
export function allowedMethods(routes: readonly { method: string; path: string }[], pathname: string): string[] {
  const methods = new Set<string>();
  for (const route of routes) {
    const pattern = new RegExp(`^${route.path.replace(/\{[^}]+\}/g, "[^/]+")}$`);
    if (pattern.test(pathname)) methods.add(route.method.toUpperCase());
  }
  if (methods.has("GET")) methods.add("HEAD");
  return [...methods];
}
