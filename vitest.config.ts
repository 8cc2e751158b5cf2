import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: ["test/unit/vitest.config.ts", "test/users/vitest.config.ts", "test/system/vitest.config.ts"],
  },
});
