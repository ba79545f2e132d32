import { describe, expect, it } from "vitest";
import { chromiumVerdict } from "./debianChromium.js";

describe("chromiumVerdict", () => {
  it("runs the browser test where Chromium is installed", () => {
    expect(chromiumVerdict({}, process.execPath)).toEqual({ run: true, message: undefined });
  });

  it("skips it on a developer machine without Chromium, with the command that installs it, and fails it in CI", () => {
    expect(chromiumVerdict({}, "/nowhere/chromium")).toEqual({
      run: false,
      message: "console browser test: no Chromium at /nowhere/chromium (apt-get install -y --no-install-recommends chromium)",
    });
    expect(chromiumVerdict({ CI: "true" }, "/nowhere/chromium").run).toBe(true);
  });
});
