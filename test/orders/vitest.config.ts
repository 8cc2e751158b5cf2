import { join } from "node:path";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineProject } from "vitest/config";
import {
  auxWorkersOf,
  CATALOG_DB_ID,
  catalogMigrations,
  EVENTS_DB_ID,
  eventsMigrations,
  ordersMigrations,
  PAYMENTS_DB_ID,
  paymentsMigrations,
  ROOT,
} from "../support/node-config.ts";

/**
 * shop-orders as the main Worker, so its OrderSaga and OrderSweeper objects are hosted here and the
 * DO helpers of `cloudflare:test` work on them. Catalog, payments (with the simulator behind it)
 * and resilience run beside it as built auxiliary Workers; the runner binds their D1 by the same
 * ids to apply migrations, and reaches them through TEST_* service bindings to check invariants.
 *
 * Times are shortened so that retries, deadlines and breaker outages take seconds, in the same
 * proportions as the defaults: the breaker's open time (500 ms) is well inside the saga's patience
 * before the pivot (6 s), and compensation retries span several breaker open periods.
 */
export default defineProject(async () => ({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: join(ROOT, "workers/orders/wrangler.toml") },
      miniflare: {
        d1Databases: { CATALOG_DB: CATALOG_DB_ID, PAYMENTS_DB: PAYMENTS_DB_ID, EVENTS_DB: EVENTS_DB_ID },
        bindings: {
          TEST_ORDERS_MIGRATIONS: await ordersMigrations(),
          TEST_CATALOG_MIGRATIONS: await catalogMigrations(),
          TEST_PAYMENTS_MIGRATIONS: await paymentsMigrations(),
          TEST_EVENTS_MIGRATIONS: await eventsMigrations(),
          ORDER_WAIT_MS: "3000",
          FAULTS_ENABLED: "true",
          // Longer than ORDER_WAIT_MS plus a breaker cycle: an order can answer 202 during an
          // outage and still complete once the provider is back.
          SAGA_DEADLINE_MS: "6000",
          SAGA_BACKOFF_BASE_MS: "20",
          SAGA_BACKOFF_CAP_MS: "200",
          SAGA_COMPENSATION_BACKOFF_BASE_MS: "50",
          SAGA_COMPENSATION_BACKOFF_CAP_MS: "1000",
          SAGA_CALL_TIMEOUT_MS: "3000",
          // Short, so a compensation gives up within a test (breaker refusals do not count).
          SAGA_COMPENSATION_BUDGET_MS: "3000",
          // The background sweep stays out of the way; the tests call sweep() themselves.
          SWEEP_INTERVAL_MS: "600000",
          SWEEP_PENDING_AFTER_MS: "15000",
        },
        // The runner's handles on catalog and payments (HTTP app and RPC), to create products
        // and check stock and payments.
        serviceBindings: { TEST_CATALOG: "shop-catalog", TEST_PAYMENTS: "shop-payments" },
        // The tests reach the simulator's admin API at its address, as shop-payments reaches it.
        outboundService: "shop-psp-sim",
        // What shop-orders binds (catalog, payments with the simulator behind it, resilience, the
        // bus with its log, ops with the MetricsStore the saga feeds), from the wrangler configs.
        workers: auxWorkersOf("workers/orders/wrangler.toml", {
          settings: {
            // Small provider timeout so that a slow provider fails quickly.
            "shop-payments": { PSP_TIMEOUT_MS: "300" },
            "shop-resilience": { BREAKER_OPEN_MS: "500" },
          },
        }),
      },
    }),
  ],
  test: {
    name: "orders",
    include: ["**/*.test.ts"],
    setupFiles: ["./setup.ts"],
    // Provider faults and breakers are global to the one simulator and resilience Worker.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
}));
