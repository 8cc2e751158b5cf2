import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import * as z from "zod";
import { AlertListSchema } from "#shared/contracts/alerts";
import type { Breaker } from "#shared/contracts/breaker";
import {
  AuditPageSchema,
  AuditQuerySchema,
  AuditVerifySchema,
  type MetricsReport,
  MetricsReportSchema,
  MetricsWindowSchema,
} from "#shared/contracts/ops";
import { errorFields } from "#shared/log";
import { unwrap } from "#shared/result";
import type { GatewayApp } from "../context";
import { authorize } from "../middleware/authenticate";
import { errorResponses, successHeaders } from "./responses";
import type { ProxyRoute } from "./table";

const ops = (env: Env) => env.OPS;

/** The audit trail, served by shop-ops. */
export const OPS_ROUTES: ProxyRoute[] = [
  {
    method: "get",
    path: "/api/admin/audit",
    operationId: "listAudit",
    summary: "The audit trail of privileged actions, newest first; filter by actor id, action, target, time",
    tag: "admin",
    access: "admin",
    service: ops,
    query: AuditQuerySchema,
    success: { status: 200, description: "A page of audit entries", schema: AuditPageSchema },
  },
  {
    method: "get",
    path: "/api/admin/audit/verify",
    operationId: "verifyAudit",
    summary: "Check the audit trail's hash chain from its oldest kept entry",
    tag: "admin",
    access: "admin",
    service: ops,
    success: { status: 200, description: "Whether the chain is intact", schema: AuditVerifySchema },
  },
  {
    method: "get",
    path: "/api/admin/alerts",
    operationId: "listAlerts",
    summary: "Firing alerts (newest first), then recently resolved ones, as shop-alerts evaluates them",
    tag: "admin",
    access: "admin",
    service: (env: Env) => env.ALERTS,
    success: { status: 200, description: "The alerts", schema: AlertListSchema },
  },
];

const metricsRoute = createRoute({
  method: "get",
  path: "/api/admin/metrics",
  operationId: "getMetrics",
  summary:
    "Request rate, errors and latency per route, saga outcomes, breakers, outbox lag, queue batches, notification sends and dead letters, over a window",
  tags: ["admin"],
  security: [{ bearer: [] }],
  middleware: [authorize("admin")] as const,
  request: { query: z.object({ window: MetricsWindowSchema.default("15m") }) },
  responses: {
    200: {
      description: "The metrics",
      headers: successHeaders(true),
      content: { "application/json": { schema: MetricsReportSchema } },
    },
    ...errorResponses({
      api: true,
      authenticated: true,
      input: true,
      body: false,
      forwarded: true,
      descriptions: { 400: "Invalid window", 502: "The metrics source failed" },
    }),
  },
});

/**
 * `GET /api/admin/metrics`: shop-ops answers what the metrics points say (from the local store or
 * Analytics Engine); the gateway adds what only the services know now: each breaker's state (with
 * its transitions in the window) and the dead letters waiting.
 */
export function mountMetricsRoute(app: OpenAPIHono<GatewayApp>): void {
  app.openapi(metricsRoute, async (c) => {
    const { window } = c.req.valid("query");
    const log = c.get("log");
    const [summary, breakers, deadLetters] = await Promise.all([
      c.env.OPS.metrics(window),
      c.env.RESILIENCE.breakers().catch((error: unknown): Breaker[] => {
        log.warn("breakers unavailable for metrics", errorFields(error));
        return [];
      }),
      c.env.EVENTS.waitingDeadLetters(),
    ]);
    const { breakerTransitions, ...rest } = unwrap(summary);
    const report: MetricsReport = {
      ...rest,
      breakers: breakers.map((breaker) => ({
        ...breaker,
        transitions: breakerTransitions
          .filter((t) => t.name === breaker.name)
          .map(({ at, from, to }) => ({ at, from, to })),
      })),
      deadLetters,
      outboxLagMs: rest.outbox.p95AgeMs,
    };
    return c.json(report, 200, { "cache-control": "no-store" });
  });
}
