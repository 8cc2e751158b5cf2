/// <reference path="./provided.d.ts" />
import { join } from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineProject } from "vitest/config";
import { auxWorker, ROOT } from "../support/node-config.ts";

/**
 * shop-payments as the main Worker, with the real shop-psp-sim and shop-resilience beside it as
 * auxiliary Workers (built JavaScript: `wrangler deploy --dry-run --outdir .test-workers/<name>`).
 *
 * Payments reaches the provider with a plain `fetch` to http://127.0.0.1:8788/..., as under
 * `wrangler dev`; here Miniflare's `outboundService` sends every outbound fetch of the main Worker
 * (and of the tests, which run in its isolate) to shop-psp-sim instead of the network.
 */

/** Endpoints the simulator serves in tests: a and b as configured, the rest for tests that need their own breakers. */
const SIM_ENDPOINTS = "abcdefghijklmnopqrstuvwxyz".split("").join(",");
/** Small enough that a timeout test is quick; far above the simulator's own latency. */
const PSP_TIMEOUT_MS = "500";
const BREAKER_FAILURE_THRESHOLD = 5;

export default defineProject(async () => ({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: join(ROOT, "workers/payments/wrangler.toml") },
      miniflare: {
        bindings: {
          TEST_MIGRATIONS: await readD1Migrations(join(ROOT, "d1", "payments", "migrations")),
          PSP_TIMEOUT_MS,
          // As committed in wrangler.toml, whatever a local .dev.vars says.
          FAULTS_ENABLED: "false",
        },
        outboundService: "shop-psp-sim",
        // The same simulator script with faults disabled, as it is everywhere but local dev.
        serviceBindings: { PSP_SIM_LOCKED: "shop-psp-sim-locked" },
        workers: [
          auxWorker("shop-psp-sim", "psp-sim", { bindings: { PSP_ENDPOINTS: SIM_ENDPOINTS, FAULTS_ENABLED: "true" } }),
          {
            ...auxWorker("shop-psp-sim", "psp-sim", { bindings: { PSP_ENDPOINTS: "a,b", FAULTS_ENABLED: "false" } }),
            name: "shop-psp-sim-locked",
          },
          auxWorker("shop-resilience", "resilience", {
            bindings: { BREAKER_FAILURE_THRESHOLD: String(BREAKER_FAILURE_THRESHOLD) },
          }),
        ],
      },
    }),
  ],
  test: {
    name: "payments",
    include: ["**/*.test.ts"],
    setupFiles: ["./setup.ts"],
    // Faults live in the one simulator every file talks to: files must not run side by side.
    fileParallelism: false,
    // Timeout tests wait out several provider timeouts.
    testTimeout: 15_000,
    provide: { breakerFailureThreshold: BREAKER_FAILURE_THRESHOLD, pspTimeoutMs: Number(PSP_TIMEOUT_MS) },
  },
}));
