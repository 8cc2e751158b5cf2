import { AuditQuerySchema } from "#shared/contracts/ops";
import { type AppEnv, requireAdmin, serviceApp } from "#shared/http";
import { parseOrThrow } from "#shared/validation";
import { auditTrail } from "./trail";

/** The HTTP app of shop-ops, reached only by the gateway over the service binding. */
export const app = serviceApp<AppEnv<Env>>("shop-ops")
  .get("/api/admin/audit", async (c) => {
    requireAdmin(c, "Only an admin can read the audit trail.");
    const query = parseOrThrow(AuditQuerySchema, c.req.query(), "query");
    return c.json(await auditTrail(c.env).list(query), 200, { "cache-control": "no-store" });
  })
  .get("/api/admin/audit/verify", async (c) => {
    requireAdmin(c, "Only an admin can verify the audit trail.");
    return c.json(await auditTrail(c.env).verify(), 200, { "cache-control": "no-store" });
  });
