import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll } from "vitest";

beforeAll(async () => {
  await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
  await env.SUBSCRIBER_DB.exec(
    "CREATE TABLE IF NOT EXISTS received (message_id TEXT NOT NULL, event_id TEXT, body TEXT NOT NULL)",
  );
});
