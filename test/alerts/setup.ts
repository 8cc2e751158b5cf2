import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll } from "vitest";

beforeAll(async () => {
  await applyD1Migrations(env.USERS_DB, env.TEST_MIGRATIONS);
  await applyD1Migrations(env.CATALOG_DB, env.TEST_CATALOG_MIGRATIONS);
  await applyD1Migrations(env.PAYMENTS_DB, env.TEST_PAYMENTS_MIGRATIONS);
  await applyD1Migrations(env.ORDERS_DB, env.TEST_ORDERS_MIGRATIONS);
  await applyD1Migrations(env.EVENTS_DB, env.TEST_EVENTS_MIGRATIONS);
  await applyD1Migrations(env.NOTIFICATIONS_DB, env.TEST_NOTIFICATIONS_MIGRATIONS);
});
