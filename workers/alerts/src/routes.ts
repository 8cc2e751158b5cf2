import { Hono } from "hono";
import {
  type AppEnv,
  identityFromGateway,
  notFoundProblem,
  onProblem,
  requestContext,
  requireAdmin,
} from "#shared/http";
import { alertManager } from "./manager";

/** The HTTP app of shop-alerts, reached only by the gateway over the service binding. */
export const app = new Hono<AppEnv<Env>>()
  .use(requestContext({ service: "shop-alerts", trustCaller: true }))
  .use(identityFromGateway())
  .get("/api/admin/alerts", async (c) => {
    requireAdmin(c, "Only an admin can read the alerts.");
    const manager = alertManager(c.env);
    await manager.ensureScheduled();
    return c.json({ items: await manager.list() }, 200, { "cache-control": "no-store" });
  })
  .notFound(notFoundProblem)
  .onError(onProblem);
