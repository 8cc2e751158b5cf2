import type { Context, ErrorHandler, MiddlewareHandler, NotFoundHandler } from "hono";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { type Identity, REQUEST_ID_HEADER, readIdentity } from "./identity";
import { createLogger, errorFields, type Logger } from "./log";
import { codeForStatus, ProblemException, problemResponse } from "./problem";
import { span } from "./span";
import { formatTraceparent, parseTraceparent, type TraceContext } from "./trace";

/** Context variables every edge-shop Hono app carries. */
export interface RequestVariables {
  requestId: string;
  trace: TraceContext;
  log: Logger;
  identity?: Identity;
}

export type AppEnv<Bindings extends object> = { Bindings: Bindings; Variables: RequestVariables };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Request id and trace for one request, which is one span (a child of the caller's `traceparent`,
 * logged with its status as the outcome). `trustCaller` is for services behind the gateway: they
 * keep the request id the gateway gave; the public gateway always mints its own.
 */
export function requestContext(options: { service: string; trustCaller: boolean }): MiddlewareHandler {
  return async function requestContextMiddleware(c, next) {
    const given = c.req.header(REQUEST_ID_HEADER);
    const requestId = options.trustCaller && given && UUID.test(given) ? given : crypto.randomUUID();
    const parent = parseTraceparent(c.req.header("traceparent"));
    await span(
      {
        service: options.service,
        name: `${c.req.method} ${new URL(c.req.url).pathname}`,
        parent,
        outcome: () => String(c.res.status),
        fields: { requestId },
      },
      async (trace) => {
        c.set("requestId", requestId);
        c.set("trace", trace);
        c.set(
          "log",
          createLogger({ service: options.service, requestId, traceId: trace.traceId, spanId: trace.spanId }),
        );
        await next();
        c.header(REQUEST_ID_HEADER, requestId);
        c.header("traceparent", formatTraceparent(trace));
      },
    );
  };
}

function requestIdOf(c: Context): string {
  return (c.get("requestId") as string | undefined) ?? crypto.randomUUID();
}

/** Renders every error as problem+json; a bug becomes a 500 without its stack. */
export const onProblem: ErrorHandler = (err, c) => {
  const requestId = requestIdOf(c);
  const log = c.get("log") as Logger | undefined;
  if (err instanceof ProblemException) {
    if (err.internal) log?.warn(err.internal, { code: err.code });
    return problemResponse(err.code, err.detail, requestId, { errors: err.errors, headers: err.headers });
  }
  if (err instanceof HTTPException) {
    const code = codeForStatus(err.status);
    return problemResponse(code, err.message || "The request could not be processed.", requestId);
  }
  (log ?? console).error("unhandled error", errorFields(err));
  return problemResponse("internal", "Something went wrong on our side.", requestId);
};

export const notFoundProblem: NotFoundHandler = (c) =>
  problemResponse("not_found", `No route for ${c.req.method} ${new URL(c.req.url).pathname}.`, requestIdOf(c));

/** For services: the identity the gateway set, or a 401 problem. */
export function requireIdentity(c: { var: { identity?: Identity } }): Identity {
  const identity = c.var.identity;
  if (!identity) throw new ProblemException("unauthorized", { detail: "Sign in first." });
  return identity;
}

/** For services: the identity the gateway set, which must be an admin's, or a 401/403 problem. */
export function requireAdmin(c: { var: { identity?: Identity } }, detail = "Only an admin can do this."): Identity {
  const identity = requireIdentity(c);
  if (identity.role !== "admin") throw new ProblemException("insufficient_scope", { detail });
  return identity;
}

/** For services behind the gateway: reads the identity headers the gateway set. */
export function identityFromGateway<E extends AppEnv<object>>(): MiddlewareHandler<E> {
  return async function identityFromGatewayMiddleware(c, next) {
    const identity = readIdentity(c.req.raw.headers);
    if (identity) c.set("identity", identity);
    await next();
  };
}

/**
 * The one skeleton of a service's HTTP app (every service behind the gateway): request id and
 * trace kept from the gateway, the identity the gateway set, the service's own middleware (its
 * outbox, say), and problem+json for unknown routes and errors. Routes are chained on the result.
 * `identity: false` is for a Worker nobody reaches through the gateway (the provider simulator).
 */
export function serviceApp<E extends AppEnv<object>>(
  service: string,
  options: { identity?: boolean; use?: MiddlewareHandler<E>[] } = {},
): Hono<E> {
  const app = new Hono<E>();
  app.use(requestContext({ service, trustCaller: true }));
  if (options.identity !== false) app.use(identityFromGateway<E>());
  for (const middleware of options.use ?? []) app.use(middleware);
  app.notFound(notFoundProblem);
  app.onError(onProblem);
  return app;
}
