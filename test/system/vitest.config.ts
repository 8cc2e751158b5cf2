import { join } from "node:path";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineProject } from "vitest/config";
import {
  CATALOG_DB_ID,
  catalogAuxWorker,
  catalogMigrations,
  makeTestKeys,
  ORDERS_DB_ID,
  ordersAuxWorker,
  ordersMigrations,
  PAYMENTS_DB_ID,
  paymentsAuxWorker,
  paymentsMigrations,
  pspSimAuxWorker,
  ROOT,
  resilienceAuxWorker,
  USERS_DB_ID,
  usersAuxWorker,
  usersMigrations,
} from "../support/node-config.ts";

/**
 * The system as users meet it: the gateway is the main Worker (it hosts the RateLimiter) and every
 * service runs beside it as an auxiliary Worker built by a dry-run deploy, with the payment
 * provider simulator behind payments. The runner binds each service's D1 by the same id to apply
 * its migrations. Fault injection is on, as in local dev.
 */
export default defineProject(async () => {
  const keys = await makeTestKeys();
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: join(ROOT, "wrangler.toml") },
        miniflare: {
          d1Databases: {
            USERS_DB: USERS_DB_ID,
            CATALOG_DB: CATALOG_DB_ID,
            PAYMENTS_DB: PAYMENTS_DB_ID,
            ORDERS_DB: ORDERS_DB_ID,
          },
          bindings: {
            FAULTS_ENABLED: "true",
            TEST_MIGRATIONS: await usersMigrations(),
            TEST_CATALOG_MIGRATIONS: await catalogMigrations(),
            TEST_PAYMENTS_MIGRATIONS: await paymentsMigrations(),
            TEST_ORDERS_MIGRATIONS: await ordersMigrations(),
          },
          workers: [
            usersAuxWorker(keys),
            resilienceAuxWorker(),
            catalogAuxWorker(),
            pspSimAuxWorker(),
            // Short timeouts so that outage tests are quick.
            paymentsAuxWorker({ PSP_TIMEOUT_MS: "500" }),
            ordersAuxWorker({ ORDER_WAIT_MS: "3000" }),
          ],
        },
      }),
    ],
    test: {
      name: "system",
      include: ["**/*.test.ts"],
      setupFiles: ["./setup.ts"],
      // Provider faults are global to the one simulator: files must not run side by side.
      fileParallelism: false,
      provide: { keys },
    },
  };
});
