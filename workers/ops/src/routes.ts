import { Hono } from "hono";
import { AuditQuerySchema } from "../../shared/src/contracts/ops";
import {
  type AppEnv,
  identityFromGateway,
  notFoundProblem,
  onProblem,
  requestContext,
  requireAdmin,
} from "../../shared/src/http";
import { parseOrThrow } from "../../shared/src/validation";
import { auditTrail } from "./trail";

/** The HTTP app of shop-ops, reached only by the gateway over the service binding. */
export const app = new Hono<AppEnv<Env>>()
  .use(requestContext({ service: "shop-ops", trustCaller: true }))
  .use(identityFromGateway())
  .get("/api/admin/audit", async (c) => {
    requireAdmin(c, "Only an admin can read the audit trail.");
    const query = parseOrThrow(AuditQuerySchema, c.req.query(), "query");
    return c.json(await auditTrail(c.env).list(query), 200, { "cache-control": "no-store" });
  })
  .get("/api/admin/audit/verify", async (c) => {
    requireAdmin(c, "Only an admin can verify the audit trail.");
    return c.json(await auditTrail(c.env).verify(), 200, { "cache-control": "no-store" });
  })
  .notFound(notFoundProblem)
  .onError(onProblem);
