import { join } from "node:path";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineProject } from "vitest/config";
import { makeTestKeys, ROOT, usersMigrations } from "../support/node-config.ts";

/** shop-users on its own: its HTTP app and RPC methods against a real (local) D1. */
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
          },
        },
      }),
    ],
    test: {
      name: "users",
      include: ["**/*.test.ts"],
      setupFiles: ["./setup.ts"],
      provide: { keys },
    },
  };
});
