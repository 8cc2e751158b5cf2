import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeAll } from "vitest";
import { clearFaults, settleBreakers } from "./helpers";

beforeAll(async () => {
  await applyD1Migrations(env.DB, env.TEST_ORDERS_MIGRATIONS);
  await applyD1Migrations(env.CATALOG_DB, env.TEST_CATALOG_MIGRATIONS);
  await applyD1Migrations(env.PAYMENTS_DB, env.TEST_PAYMENTS_MIGRATIONS);
  await applyD1Migrations(env.EVENTS_DB, env.TEST_EVENTS_MIGRATIONS);
});

// Faults and breakers are global: no test leaves a fault or an open breaker behind.
afterEach(async () => {
  await clearFaults();
  await settleBreakers();
});
