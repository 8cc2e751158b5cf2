import { defineProject } from "vitest/config";

/** Pure logic (no I/O, no runtime): runs in Node. */
export default defineProject({
  test: {
    name: "unit",
    include: ["**/*.unit.test.ts"],
    environment: "node",
  },
});
