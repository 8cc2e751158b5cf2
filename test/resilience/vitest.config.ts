import { join } from "node:path";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineProject } from "vitest/config";
import { auxWorkersOf, ROOT } from "../support/node-config.ts";

/**
 * shop-resilience as the main Worker, so the tests reach its CircuitBreaker objects directly (and
 * the DO helpers work on them). Times are shortened; the threshold and the names stay as configured.
 * Transitions also go to shop-ops' local metrics store (METRICS_LOCAL, as under `npm run dev`).
 */
export default defineProject({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: join(ROOT, "workers/resilience/wrangler.toml") },
      miniflare: {
        bindings: { BREAKER_OPEN_MS: "300", BREAKER_PROBE_LEASE_MS: "200", METRICS_LOCAL: "true" },
        workers: auxWorkersOf("workers/resilience/wrangler.toml"),
      },
    }),
  ],
  test: {
    name: "resilience",
    include: ["**/*.test.ts"],
  },
});
