import { join } from "node:path";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineProject } from "vitest/config";
import { auxWorkersOf, eventsMigrations, MINIFLARE_TEST_TIMEOUT_MS, ROOT } from "../support/node-config.ts";

/** Where the subscriber stand-in writes what reached the `shop-notifications` queue. */
const SUBSCRIBER_DB_ID = "00000000-0000-4000-8000-0000000000e1";

/**
 * shop-events as the main Worker: the tests hand its queue handler batches made with
 * `createMessageBatch`, call its RPC methods and its admin HTTP app. Beside it, a subscriber
 * stand-in consumes the real `shop-notifications` queue (the one shop-events forwards and replays
 * to) and writes each message it receives to a D1 table the tests read: forwarding is observed as
 * a subscriber would observe it, through the queue.
 */
export default defineProject(async () => ({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: join(ROOT, "workers/events/wrangler.toml") },
      miniflare: {
        bindings: { TEST_MIGRATIONS: await eventsMigrations() },
        d1Databases: { SUBSCRIBER_DB: SUBSCRIBER_DB_ID },
        // What shop-events binds (shop-ops: the MetricsStore for outbox lag and queue batches),
        // from its wrangler config, and the subscriber stand-in.
        workers: auxWorkersOf("workers/events/wrangler.toml", {
          extra: [
            {
              name: "subscriber-stand-in",
              modules: true,
              compatibilityDate: "2026-11-01",
              d1Databases: { DB: SUBSCRIBER_DB_ID },
              queueConsumers: { "shop-notifications": { maxBatchSize: 25, maxBatchTimeout: 1, maxRetries: 0 } },
              script: `
              export default {
                async queue(batch, env) {
                  for (const message of batch.messages) {
                    await env.DB.prepare("INSERT INTO received (message_id, event_id, body) VALUES (?, ?, ?)")
                      .bind(message.id, message.body?.id ?? null, JSON.stringify(message.body))
                      .run();
                    message.ack();
                  }
                },
              };
            `,
            },
          ],
        }),
      },
    }),
  ],
  test: {
    name: "events",
    testTimeout: MINIFLARE_TEST_TIMEOUT_MS,
    include: ["**/*.test.ts"],
    setupFiles: ["./setup.ts"],
  },
}));
