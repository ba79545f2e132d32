import { defineConfig } from "vitest/config";

// Every test bounds its own time; these are the outer fences so a hung socket cannot stall CI.
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: "forks",
    reporters: ["default"],
  },
});
