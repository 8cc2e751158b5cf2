/// <reference path="./provided.d.ts" />
import { join } from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineProject } from "vitest/config";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { ROOT } from "../support/node-config.ts";

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

/** An auxiliary Worker: its built script, its config's runtime settings, bindings and DOs, and overrides. */
function auxWorker(name: string, dir: string, bindings: Record<string, string>) {
  const { workerOptions } = unstable_getMiniflareWorkerOptions(join(ROOT, "workers", dir, "wrangler.toml"));
  const built = join(ROOT, ".test-workers", name);
  return {
    name,
    compatibilityDate: workerOptions.compatibilityDate as string,
    compatibilityFlags: workerOptions.compatibilityFlags as string[],
    modules: true,
    scriptPath: join(built, "index.js"),
    modulesRoot: built,
    // SQLite-backed objects hosted by the auxiliary Worker need useSQLite (the config's migrations say so).
    durableObjects: Object.fromEntries(
      Object.entries(workerOptions.durableObjects ?? {}).map(([binding, options]) => [
        binding,
        { className: (options as { className: string }).className, useSQLite: true },
      ]),
    ),
    bindings: { ...(workerOptions.bindings as Record<string, string>), ...bindings },
  };
}

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
          auxWorker("shop-psp-sim", "psp-sim", { PSP_ENDPOINTS: SIM_ENDPOINTS, FAULTS_ENABLED: "true" }),
          {
            ...auxWorker("shop-psp-sim", "psp-sim", { PSP_ENDPOINTS: "a,b", FAULTS_ENABLED: "false" }),
            name: "shop-psp-sim-locked",
          },
          auxWorker("shop-resilience", "resilience", {
            BREAKER_FAILURE_THRESHOLD: String(BREAKER_FAILURE_THRESHOLD),
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
