import { createRoute, type OpenAPIHono, type RouteConfig } from "@hono/zod-openapi";
import type * as z from "zod";
import type { GatewayApp } from "../context";
import { type Access, authorize } from "../middleware/authenticate";
import { forward } from "./forward";
import { errorResponses, successHeaders } from "./responses";

/**
 * The gateway's route table. Each public route names who may call it, the schemas it validates
 * (which also document it in /openapi.json) and the service binding it forwards to.
 */
export interface ProxyRoute {
  method: "get" | "post" | "put" | "patch" | "delete";
  path: string; // OpenAPI style: /api/users/{id}
  /** Stable and unique: the name generated clients give the call. */
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  access: Access;
  service: (env: Env) => Fetcher;
  params?: z.ZodObject;
  query?: z.ZodObject;
  headers?: z.ZodObject;
  body?: z.ZodType;
  success: Reply;
  /** Other successful answers (202 beside 201, say). */
  alsoSuccess?: Reply[];
  errors?: number[];
  errorDescriptions?: Record<number, string>;
}

export interface Reply {
  status: number;
  description: string;
  schema?: z.ZodType;
  headers?: Record<string, { description: string; required?: boolean; schema: { type: "string"; pattern?: string } }>;
}

function reply(route: ProxyRoute, r: Reply): RouteConfig["responses"][number] {
  const headers = successHeaders(route.path.startsWith("/api/"), r.headers);
  return {
    description: r.description,
    ...(headers ? { headers } : {}),
    ...(r.schema ? { content: { "application/json": { schema: r.schema } } } : {}),
  };
}

export function toRouteConfig(route: ProxyRoute): RouteConfig {
  const responses: RouteConfig["responses"] = {};
  for (const r of [route.success, ...(route.alsoSuccess ?? [])]) responses[r.status] = reply(route, r);
  Object.assign(
    responses,
    errorResponses({
      api: route.path.startsWith("/api/"),
      authenticated: route.access !== "public",
      input: Boolean(route.params || route.query || route.headers || route.body),
      body: Boolean(route.body),
      forwarded: true,
      extra: route.errors,
      descriptions: route.errorDescriptions,
    }),
  );
  return createRoute({
    method: route.method,
    path: route.path,
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
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

/**
 * The methods allowed on a path, to answer 405 with `Allow` rather than 404. The patterns are
 * compiled once, when the table is built.
 */
export function allowedMethods(routes: readonly { method: string; path: string }[]): (pathname: string) => string[] {
  const compiled = routes.map((route) => ({
    method: route.method.toUpperCase(),
    pattern: new RegExp(`^${route.path.replace(/\{[^}]+\}/g, "[^/]+")}$`),
  }));
  return (pathname) => {
    const methods = new Set<string>();
    for (const route of compiled) if (route.pattern.test(pathname)) methods.add(route.method);
    if (methods.has("GET")) methods.add("HEAD");
    return [...methods];
  };
}
