import { defineProject } from "vitest/config";

/** The deploy orchestration (scripts/deploy.ts) against a recording wrangler stand-in: runs in Node. */
export default defineProject({
  test: {
    name: "deploy",
    include: ["**/*.test.ts"],
    environment: "node",
    testTimeout: 60_000,
  },
});
