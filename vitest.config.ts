import { defineConfig } from "vitest/config";

// Every test bounds its own time; these are the outer fences so a hung socket cannot stall CI.
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: "forks",
    // The suite mostly waits (sockets, the simulator's cadence, IB's windows): on 2 cores vitest's default
    // (cores - 1 = one file at a time) leaves the CPU idle. Four files at once keep it busy; more made the
    // benchmark-like checks contend for the CPU without making the suite faster.
    maxWorkers: 4,
    reporters: ["default"],
  },
});
