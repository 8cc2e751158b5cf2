import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { faultsEnabled as faultsOn } from "#shared/config";
import { FaultsSchema, splitFaults } from "#shared/contracts/faults";
import { ProblemException } from "#shared/problem";
import { unwrap } from "#shared/result";
import type { GatewayApp } from "../context";
import { authorize } from "../middleware/authenticate";
import { errorResponses, successHeaders } from "./responses";

const faultsRoute = createRoute({
  method: "put",
  path: "/api/admin/faults",
  operationId: "setFaults",
  summary:
    "Set faults of the payment provider, of the saga's calls to catalog and payments, and of the notifications consumer (only where FAULTS_ENABLED is true, else 404)",
  tags: ["admin"],
  security: [{ bearer: [] }],
  middleware: [
    // A deployment without fault injection has no such route, for anyone.
    async function faultsEnabled(c, next) {
      if (!faultsOn(c.env)) {
        throw new ProblemException("not_found", { detail: "No route for PUT /api/admin/faults." });
      }
      await next();
    },
    authorize("admin"),
  ] as const,
  request: { body: { required: true, content: { "application/json": { schema: FaultsSchema } } } },
  responses: {
    200: {
      description: "The faults now in force",
      headers: successHeaders(true),
      content: { "application/json": { schema: FaultsSchema } },
    },
    ...errorResponses({
      api: true,
      authenticated: true,
      input: true,
      body: true,
      forwarded: true,
      extra: [404],
      descriptions: { 404: "Fault injection is disabled here (FAULTS_ENABLED is not true)" },
    }),
  },
});

export function mountFaultsRoute(app: OpenAPIHono<GatewayApp>): void {
  app.openapi(faultsRoute, async (c) => {
    const faults = c.req.valid("json");
    c.get("log").warn("faults set", { faults });
    const { provider, rpc, consumer } = splitFaults(faults);
    const [providerFaults, rpcFaults, consumerFaults] = await Promise.all([
      c.env.PAYMENTS.setFaults(provider),
      c.env.ORDERS.setFaults(rpc),
      c.env.NOTIFICATIONS.setFaults(consumer),
    ]);
    return c.json({ ...unwrap(providerFaults), ...unwrap(rpcFaults), ...unwrap(consumerFaults) }, 200);
  });
}
