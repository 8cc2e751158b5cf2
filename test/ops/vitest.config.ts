import { join } from "node:path";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineProject } from "vitest/config";
import { ROOT } from "../support/node-config.ts";

/**
 * shop-ops as the main Worker, so the tests reach its AuditLog and MetricsStore objects directly
 * (the DO helpers work on them: tampering with the chain, running the retention alarm).
 */
export default defineProject({
  plugins: [cloudflareTest({ wrangler: { configPath: join(ROOT, "workers/ops/wrangler.toml") } })],
  test: { name: "ops", include: ["**/*.test.ts"] },
});
