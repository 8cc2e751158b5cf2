/// <reference path="./provided.d.ts" />
import { join } from "node:path";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineProject } from "vitest/config";
import {
  auxWorker,
  auxWorkersOf,
  EVENTS_DB_ID,
  eventsMigrations,
  paymentsMigrations,
  ROOT,
  TEST_PSP_API_KEY,
} from "../support/node-config.ts";

/**
 * shop-payments as the main Worker, with the real shop-psp-sim, shop-resilience and shop-events
 * beside it as auxiliary Workers (built JavaScript: `wrangler deploy --dry-run --outdir
 * .test-workers/<name>`). Its events go through the real queue into the real log, which the
 * runner reads through EVENTS_DB (the same database id).
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
          TEST_MIGRATIONS: await paymentsMigrations(),
          TEST_EVENTS_MIGRATIONS: await eventsMigrations(),
          PSP_TIMEOUT_MS,
          PSP_API_KEY: TEST_PSP_API_KEY,
          // As committed in wrangler.toml, whatever a local .dev.vars says.
          FAULTS_ENABLED: "false",
          // The relay checks rows as soon as they are sent, and its alarm runs only when a test
          // runs it, so what a test sees in the outbox stays put.
          OUTBOX_RESEND_AFTER_MS: "0",
          OUTBOX_SWEEP_INTERVAL_MS: "3600000",
        },
        d1Databases: { EVENTS_DB: EVENTS_DB_ID },
        outboundService: "shop-psp-sim",
        // The same simulator script with faults disabled, as it is everywhere but local dev.
        serviceBindings: { PSP_SIM_LOCKED: "shop-psp-sim-locked" },
        // What shop-payments binds (resilience, which binds ops' MetricsStore; the bus), from the
        // wrangler configs; the simulator twice, by hand: no config binds it (payments fetches it).
        workers: auxWorkersOf("workers/payments/wrangler.toml", {
          settings: { "shop-resilience": { BREAKER_FAILURE_THRESHOLD: String(BREAKER_FAILURE_THRESHOLD) } },
          extra: [
            auxWorker("shop-psp-sim", "psp-sim", {
              bindings: { PSP_ENDPOINTS: SIM_ENDPOINTS, FAULTS_ENABLED: "true", PSP_API_KEY: TEST_PSP_API_KEY },
            }),
            {
              ...auxWorker("shop-psp-sim", "psp-sim", {
                bindings: { PSP_ENDPOINTS: "a,b", FAULTS_ENABLED: "false", PSP_API_KEY: TEST_PSP_API_KEY },
              }),
              name: "shop-psp-sim-locked",
            },
          ],
        }),
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
