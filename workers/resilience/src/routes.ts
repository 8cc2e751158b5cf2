import { Hono } from "hono";
import {
  type AppEnv,
  identityFromGateway,
  notFoundProblem,
  onProblem,
  requestContext,
  requireAdmin,
} from "../../shared/src/http";
import { listBreakers } from "./breakers";

/** The HTTP app of shop-resilience, reached only by the gateway over the service binding. */
export const app = new Hono<AppEnv<Env>>()
  .use(requestContext({ service: "shop-resilience", trustCaller: true }))
  .use(identityFromGateway())
  .get("/api/admin/breakers", async (c) => {
    requireAdmin(c, "Only an admin can see the circuit breakers.");
    // One page holds every configured breaker; nextCursor keeps the shape of every other list.
    return c.json({ items: await listBreakers(c.env), nextCursor: null }, 200, { "cache-control": "no-store" });
  })
  .notFound(notFoundProblem)
  .onError(onProblem);
