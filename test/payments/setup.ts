import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeAll } from "vitest";
import { clearFaults } from "./helpers";

beforeAll(async () => {
  await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
  await applyD1Migrations(env.EVENTS_DB, env.TEST_EVENTS_MIGRATIONS);
});

// Faults are global to the simulator: no test leaves any behind.
afterEach(async () => {
  await clearFaults();
});
