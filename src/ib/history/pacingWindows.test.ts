import { expect, it } from "vitest";
import { DEFAULT_HISTORICAL_PACING } from "./pacingRules.js";
import { PacingWindows } from "./pacingWindows.js";

it("estimates when queued units go: as the window's sends age out, then as the units sent meanwhile do (not a whole window more)", () => {
  const rules = { ...DEFAULT_HISTORICAL_PACING, safetyMarginMs: 0 };
  const W = rules.globalWindowMs;
  const windows = new PacingWindows(rules);
  // A full window: 60 sends, one a second from t = 0.
  for (let i = 0; i < 60; i++) windows.record(`id${i}`, `c${i % 7}`, 1, i * 1_000, "alpha");
  const now = 60_000;
  // The 1st more unit goes when the send at 0 ages out; the 60th when the one at 59 s does.
  expect(windows.budgetEstimate(1, 60, now)).toBe(W);
  expect(windows.budgetEstimate(60, 60, now)).toBe(W + 59_000);
  // The 80th goes one window after the 20th of those (sent at W + 19 s), not two whole windows from now.
  expect(windows.budgetEstimate(80, 60, now)).toBe(2 * W + 19_000);
  // Room in the window: now.
  expect(new PacingWindows(rules).budgetEstimate(5, 60, now)).toBe(now);
});
