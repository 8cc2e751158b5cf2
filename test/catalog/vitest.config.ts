import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineProject } from "vitest/config";
import { ROOT } from "../support/node-config.ts";

/** shop-catalog on its own: its HTTP app and RPC methods against a real (local) D1. */
export default defineProject(async () => ({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: join(ROOT, "workers/catalog/wrangler.toml") },
      miniflare: {
        bindings: {
          TEST_MIGRATIONS: await readD1Migrations(join(ROOT, "d1/catalog/migrations")),
          TEST_SEED_SQL: await readFile(join(ROOT, "d1/catalog/seed.sql"), "utf8"),
        },
      },
    }),
  ],
  test: {
    name: "catalog",
    include: ["**/*.test.ts"],
    setupFiles: ["./setup.ts"],
  },
}));
