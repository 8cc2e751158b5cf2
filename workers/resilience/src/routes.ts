import { type AppEnv, requireAdmin, serviceApp } from "#shared/http";
import { listBreakers } from "./breakers";

/** The HTTP app of shop-resilience, reached only by the gateway over the service binding. */
export const app = serviceApp<AppEnv<Env>>("shop-resilience").get("/api/admin/breakers", async (c) => {
  requireAdmin(c, "Only an admin can see the circuit breakers.");
  // One page holds every configured breaker; nextCursor keeps the shape of every other list.
  return c.json({ items: await listBreakers(c.env), nextCursor: null }, 200, { "cache-control": "no-store" });
});
