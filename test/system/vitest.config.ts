import { join } from "node:path";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineProject } from "vitest/config";
import {
  CATALOG_DB_ID,
  catalogAuxWorker,
  catalogMigrations,
  makeTestKeys,
  ROOT,
  resilienceAuxWorker,
  USERS_DB_ID,
  usersAuxWorker,
  usersMigrations,
} from "../support/node-config.ts";

/**
 * The system as users meet it: the gateway is the main Worker (it hosts the RateLimiter), the real
 * shop-users runs beside it as an auxiliary Worker built by a dry-run deploy, and the runner binds
 * users-db by the same id to apply its migrations.
 */
export default defineProject(async () => {
  const keys = await makeTestKeys();
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: join(ROOT, "wrangler.toml") },
        miniflare: {
          d1Databases: { USERS_DB: USERS_DB_ID, CATALOG_DB: CATALOG_DB_ID },
          bindings: { TEST_MIGRATIONS: await usersMigrations(), TEST_CATALOG_MIGRATIONS: await catalogMigrations() },
          workers: [usersAuxWorker(keys), resilienceAuxWorker(), catalogAuxWorker()],
        },
      }),
    ],
    test: {
      name: "system",
      include: ["**/*.test.ts"],
      setupFiles: ["./setup.ts"],
      provide: { keys },
    },
  };
});
