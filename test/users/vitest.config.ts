import { join } from "node:path";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineProject } from "vitest/config";
import {
  auxWorkersOf,
  EVENTS_DB_ID,
  eventsMigrations,
  MINIFLARE_TEST_TIMEOUT_MS,
  makeTestKeys,
  ROOT,
  usersMigrations,
} from "../support/node-config.ts";

/**
 * shop-users with shop-events beside it (built, as an auxiliary Worker): its HTTP app and RPC
 * methods against a real (local) D1, and its events through the real queue into the real log,
 * which the runner reads through EVENTS_DB (the same database id).
 */
export default defineProject(async () => {
  const keys = await makeTestKeys();
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: join(ROOT, "workers/users/wrangler.toml") },
        miniflare: {
          bindings: {
            JWT_SIGNING_KEY: keys.signingKey,
            JWT_PREVIOUS_PUBLIC_KEYS: keys.previousPublicKeys,
            TEST_MIGRATIONS: await usersMigrations(),
            TEST_EVENTS_MIGRATIONS: await eventsMigrations(),
            // The relay checks rows as soon as they are sent (tests sweep on demand).
            OUTBOX_RESEND_AFTER_MS: "0",
          },
          d1Databases: { EVENTS_DB: EVENTS_DB_ID },
          workers: auxWorkersOf("workers/users/wrangler.toml", { keys }),
        },
      }),
    ],
    test: {
      name: "users",
      testTimeout: MINIFLARE_TEST_TIMEOUT_MS,
      include: ["**/*.test.ts"],
      setupFiles: ["./setup.ts"],
      provide: { keys },
    },
  };
});
