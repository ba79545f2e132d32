import { defineConfig } from "vitest/config";

// Every test bounds its own time; these are the outer fences so a hung socket cannot stall CI.
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: "forks",
    // The suite mostly waits (sockets, the simulator's cadence, IB's windows, child processes): on 2 cores
    // vitest's default (cores - 1 = one file at a time) leaves the CPU idle. Files share a worker's modules
    // (no isolation: importing the service's module graph afresh per file cost more CPU than the tests
    // themselves, 107 of ~200 s), so six files at once keep the CPU busy without contending for it:
    // measured 66 s with 6 workers, against 103–146 s isolated with 4. Tests must not leave state behind
    // in modules (they stop what they start; metrics sources are watched per app).
    isolate: false,
    maxWorkers: 6,
    reporters: ["default"],
  },
});
