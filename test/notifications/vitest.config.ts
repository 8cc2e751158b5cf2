import { join } from "node:path";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineProject } from "vitest/config";
import {
  auxWorkersOf,
  EVENTS_DB_ID,
  eventsMigrations,
  MINIFLARE_TEST_TIMEOUT_MS,
  notificationsMigrations,
  ROOT,
} from "../support/node-config.ts";

/**
 * shop-notifications as the main Worker (its queue handler is called with batches the tests make,
 * its HTTP app through `exports`), with shop-events beside it (built, as an auxiliary Worker) so
 * that unreadable messages are stored as dead letters by the real `recordDeadLetter`. The runner
 * binds events-db by the same id to apply its migrations and to read `dead_letters`.
 */
export default defineProject(async () => ({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: join(ROOT, "workers/notifications/wrangler.toml") },
      miniflare: {
        bindings: {
          TEST_MIGRATIONS: await notificationsMigrations(),
          TEST_EVENTS_MIGRATIONS: await eventsMigrations(),
          // Small but not zero, so the tests see the delay grow with the attempts.
          NOTIFICATION_RETRY_BASE_SECONDS: "2",
          // Consumer fault injection on, as in local dev (faults.integration.test.ts).
          FAULTS_ENABLED: "true",
        },
        d1Databases: { EVENTS_DB: EVENTS_DB_ID },
        workers: auxWorkersOf("workers/notifications/wrangler.toml"),
      },
    }),
  ],
  test: {
    name: "notifications",
    testTimeout: MINIFLARE_TEST_TIMEOUT_MS,
    include: ["**/*.test.ts"],
    setupFiles: ["./setup.ts"],
  },
}));
