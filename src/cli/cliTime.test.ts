import { expect, it } from "vitest";
import { parseCliTime } from "./cliTime.js";

it("reads command-line times as the API does: UTC unless an offset says otherwise, unix ms only from 12 digits", () => {
  expect(parseCliTime("2026-11-02T09:30:00Z")).toBe(Date.UTC(2026, 10, 2, 9, 30));
  expect(parseCliTime("2026-11-02T09:30")).toBe(Date.UTC(2026, 10, 2, 9, 30));
  expect(parseCliTime("2026-11-02 09:30:15")).toBe(Date.UTC(2026, 10, 2, 9, 30, 15));
  expect(parseCliTime("2026-11-02T09:30:00-05:00")).toBe(Date.UTC(2026, 10, 2, 14, 30));
  expect(parseCliTime("2026-11-02")).toBe(Date.UTC(2026, 10, 2));
  expect(parseCliTime("1793611800000")).toBe(1_793_611_800_000);
  expect(() => parseCliTime("20261102")).toThrow(/neither a date .* nor unix milliseconds/);
  expect(() => parseCliTime("yesterday")).toThrow(/ISO 8601/);
});
