import { join } from "node:path";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineProject } from "vitest/config";
import { adminSql } from "../../scripts/admin.ts";
import {
  auxWorkersOf,
  CATALOG_DB_ID,
  catalogMigrations,
  EVENTS_DB_ID,
  eventsMigrations,
  MINIFLARE_TEST_TIMEOUT_MS,
  makeTestKeys,
  NOTIFICATIONS_DB_ID,
  notificationsMigrations,
  ORDERS_DB_ID,
  ordersMigrations,
  PAYMENTS_DB_ID,
  paymentsMigrations,
  ROOT,
  USERS_DB_ID,
  usersMigrations,
} from "../support/node-config.ts";

/**
 * A tail Worker collecting every Worker's log lines (span lines included): GET /lines?traceId=T
 * answers the JSON lines of one trace, so a test can rebuild an order's story from the logs.
 */
const LOG_COLLECTOR = `
const lines = [];
export default {
  async tail(events) {
    for (const event of events) {
      for (const log of event.logs ?? []) {
        for (const part of log.message ?? []) {
          if (typeof part !== "string" || !part.startsWith("{")) continue;
          try { lines.push(JSON.parse(part)); } catch {}
        }
      }
    }
  },
  async fetch(request) {
    const traceId = new URL(request.url).searchParams.get("traceId");
    return Response.json(lines.filter((line) => line.traceId === traceId));
  },
};`;

/**
 * Two runs of `npm run admin:create`, with the SQL it runs against users-db: one for a new
 * account, one for an account the test first registers as a customer (`env.CLI_ADMINS`).
 */
async function cliAdmins() {
  const created = { email: "cli-created@example.com", name: "Made By Script", password: "a-long-script-password" };
  const promoted = { email: "cli-promoted@example.com", name: "Promoted", password: "a-long-enough-password" };
  return {
    created: { ...created, sql: await adminSql(created) },
    promoted: { ...promoted, sql: await adminSql(promoted) },
  };
}

/** Every Worker's logs go to the collector. */
const TAILS = { tails: ["log-collector"] };

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
            EVENTS_DB: EVENTS_DB_ID,
            NOTIFICATIONS_DB: NOTIFICATIONS_DB_ID,
          },
          bindings: {
            FAULTS_ENABLED: "true",
            // As in local dev: Analytics Engine drops writes, the metrics store in shop-ops keeps them.
            METRICS_LOCAL: "true",
            TEST_MIGRATIONS: await usersMigrations(),
            TEST_CATALOG_MIGRATIONS: await catalogMigrations(),
            TEST_PAYMENTS_MIGRATIONS: await paymentsMigrations(),
            TEST_ORDERS_MIGRATIONS: await ordersMigrations(),
            TEST_EVENTS_MIGRATIONS: await eventsMigrations(),
            TEST_NOTIFICATIONS_MIGRATIONS: await notificationsMigrations(),
            CLI_ADMINS: await cliAdmins(),
          },
          ...TAILS,
          // The runner's handle on the log collector.
          serviceBindings: { LOG_COLLECTOR: "log-collector" },
          // Every service the gateway binds (and the simulator behind payments), from the wrangler
          // configs; each but shop-ops (the metrics store) sends its logs to the collector.
          workers: auxWorkersOf("wrangler.toml", {
            keys,
            settings: {
              "shop-resilience": { METRICS_LOCAL: "true" },
              // Short timeouts so that outage tests are quick.
              "shop-payments": { PSP_TIMEOUT_MS: "500" },
              "shop-orders": { ORDER_WAIT_MS: "3000", METRICS_LOCAL: "true" },
              "shop-events": { METRICS_LOCAL: "true" },
              "shop-notifications": { NOTIFICATION_RETRY_BASE_SECONDS: "0", METRICS_LOCAL: "true" },
            },
            extra: [{ name: "log-collector", modules: true, script: LOG_COLLECTOR, compatibilityDate: "2026-11-01" }],
            overrides: {
              // Few, immediate retries: a poison message reaches the dead-letter queue in seconds.
              "shop-notifications": {
                queueConsumers: {
                  "shop-notifications": {
                    maxBatchSize: 25,
                    maxBatchTimeout: 1,
                    maxRetries: 2,
                    deadLetterQueue: "shop-notifications-dlq",
                    retryDelay: 0,
                  },
                },
              },
            },
          }).map((worker) =>
            worker.name === "shop-ops" || worker.name === "log-collector" ? worker : { ...worker, ...TAILS },
          ),
          // The runner's handle on the notifications queue, to deliver a poison message.
          queueProducers: { TEST_NOTIFICATIONS_QUEUE: { queueName: "shop-notifications" } },
        },
      }),
    ],
    test: {
      name: "system",
      testTimeout: MINIFLARE_TEST_TIMEOUT_MS,
      include: ["**/*.test.ts"],
      setupFiles: ["./setup.ts"],
      // Provider faults are global to the one simulator: files must not run side by side.
      fileParallelism: false,
      provide: { keys },
    },
  };
});
