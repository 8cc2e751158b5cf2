import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineProject } from "vitest/config";
import {
  auxWorkersOf,
  catalogMigrations,
  EVENTS_DB_ID,
  eventsMigrations,
  MINIFLARE_TEST_TIMEOUT_MS,
  ROOT,
} from "../support/node-config.ts";

/**
 * shop-catalog with shop-events beside it (built, as an auxiliary Worker): its HTTP app and RPC
 * methods against a real (local) D1, and its events through the real queue into the real log,
 * which the runner reads through EVENTS_DB (the same database id).
 */
export default defineProject(async () => ({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: join(ROOT, "workers/catalog/wrangler.toml") },
      miniflare: {
        bindings: {
          TEST_MIGRATIONS: await catalogMigrations(),
          TEST_EVENTS_MIGRATIONS: await eventsMigrations(),
          TEST_SEED_SQL: await readFile(join(ROOT, "d1/catalog/seed.sql"), "utf8"),
          // The relay checks rows as soon as they are sent (tests sweep on demand).
          OUTBOX_RESEND_AFTER_MS: "0",
          // Its alarm runs only when a test runs it, so what a test sees in the outbox stays put.
          OUTBOX_SWEEP_INTERVAL_MS: "3600000",
        },
        d1Databases: { EVENTS_DB: EVENTS_DB_ID },
        workers: auxWorkersOf("workers/catalog/wrangler.toml"),
      },
    }),
  ],
  test: {
    name: "catalog",
    testTimeout: MINIFLARE_TEST_TIMEOUT_MS,
    include: ["**/*.test.ts"],
    setupFiles: ["./setup.ts"],
  },
}));
