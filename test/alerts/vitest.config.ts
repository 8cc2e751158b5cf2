import { join } from "node:path";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineProject } from "vitest/config";
import {
  auxWorkersOf,
  CATALOG_DB_ID,
  catalogMigrations,
  EVENTS_DB_ID,
  eventsMigrations,
  MINIFLARE_TEST_TIMEOUT_MS,
  makeTestKeys,
  NOTIFICATIONS_DB_ID,
  notificationsMigrations,
  ORDERS_DB_ID,
  ordersMigrations,
  PAYMENTS_DB_ID,
  paymentsMigrations,
  ROOT,
  USERS_DB_ID,
  usersMigrations,
} from "../support/node-config.ts";

/**
 * A webhook receiver standing in for Slack: every POST is kept (GET /received lists them), and
 * POST /fail?n=N makes the next N deliveries answer 503. shop-alerts' outbound fetches go to it.
 */
const WEBHOOK_RECEIVER = `
let received = [];
let failNext = 0;
export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/fail") { failNext = Number(url.searchParams.get("n")); return new Response(null, { status: 204 }); }
    if (url.pathname === "/received") return Response.json(received);
    if (url.pathname === "/reset") { received = []; failNext = 0; return new Response(null, { status: 204 }); }
    const status = failNext > 0 ? 503 : 200;
    if (failNext > 0) failNext--;
    received.push({ url: request.url, key: request.headers.get("idempotency-key"), status, body: await request.json() });
    return new Response(status === 200 ? "ok" : "unavailable", { status });
  },
};`;

/**
 * shop-alerts as the main Worker (its AlertManager object reachable by the DO helpers), every
 * service it reads beside it, and the webhook receiver behind its outbound fetch: a real HTTP
 * exchange. `for` waits are off and retries quick; the rules and thresholds stay as configured.
 */
export default defineProject(async () => {
  const keys = await makeTestKeys();
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: join(ROOT, "workers/alerts/wrangler.toml") },
        miniflare: {
          bindings: {
            ALERT_FOR_MS: "0",
            ALERT_RETRY_BASE_MS: "1",
            ALERT_WEBHOOK_URL: "https://hooks.example/services/T000/B000/alerts",
            TEST_MIGRATIONS: await usersMigrations(),
            TEST_CATALOG_MIGRATIONS: await catalogMigrations(),
            TEST_PAYMENTS_MIGRATIONS: await paymentsMigrations(),
            TEST_ORDERS_MIGRATIONS: await ordersMigrations(),
            TEST_EVENTS_MIGRATIONS: await eventsMigrations(),
            TEST_NOTIFICATIONS_MIGRATIONS: await notificationsMigrations(),
          },
          d1Databases: {
            USERS_DB: USERS_DB_ID,
            CATALOG_DB: CATALOG_DB_ID,
            PAYMENTS_DB: PAYMENTS_DB_ID,
            ORDERS_DB: ORDERS_DB_ID,
            EVENTS_DB: EVENTS_DB_ID,
            NOTIFICATIONS_DB: NOTIFICATIONS_DB_ID,
          },
          // The runner's handles: the breakers (to open and close one) and the receiver.
          durableObjects: { TEST_BREAKER: { className: "CircuitBreaker", scriptName: "shop-resilience" } },
          serviceBindings: { WEBHOOK: "webhook-receiver" },
          outboundService: "webhook-receiver",
          // Every service shop-alerts reads (and the simulator behind payments), from the wrangler configs.
          workers: auxWorkersOf("workers/alerts/wrangler.toml", {
            keys,
            settings: { "shop-resilience": { BREAKER_OPEN_MS: "50" } },
            extra: [
              { name: "webhook-receiver", modules: true, script: WEBHOOK_RECEIVER, compatibilityDate: "2026-11-01" },
            ],
          }),
        },
      }),
    ],
    test: {
      name: "alerts",
      testTimeout: MINIFLARE_TEST_TIMEOUT_MS,
      include: ["**/*.test.ts"],
      setupFiles: ["./setup.ts"],
      fileParallelism: false,
    },
  };
});
