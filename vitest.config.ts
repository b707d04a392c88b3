import { defineConfig } from "vitest/config";
import { scaled } from "./tests/support/time.js";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["tests/unit/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "integration",
          include: ["tests/integration/**/*.test.ts", "tests/e2e/**/*.test.ts"],
          globalSetup: ["tests/support/global-setup.ts"],
          pool: "forks",
          testTimeout: scaled(30_000),
          hookTimeout: scaled(120_000),
        },
      },
    ],
  },
});
