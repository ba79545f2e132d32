import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, type LogFormat } from "./logger.js";
import { maskAccountId } from "../domain/accountMask.js";

/** A destination that keeps what is written; `isTTY` as a terminal's stdout has it. */
function captured(isTTY: boolean): Writable & { isTTY: boolean; text: () => string } {
  let text = "";
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return Object.assign(stream, { isTTY, text: () => text });
}

function logged(format: LogFormat, isTTY: boolean): string {
  const out = captured(isTTY);
  const log = createLogger("info", { format, destination: out });
  log.info({ account: maskAccountId("DU1234567"), token: "s3cret-token", headers: { "x-api-token": "s3cret-header" }, grpc: "127.0.0.1:50051" }, "ib-provider is serving");
  return out.text();
}

describe("logs", () => {
  it("are one readable line on a terminal, not JSON", () => {
    const text = logged("auto", true);
    expect(text).toMatch(/^\S*\d\d:\d\d:\d\d\.\d{3}\S* \S*INFO\S*.*ib-provider is serving/);
    expect(() => JSON.parse(text) as unknown).toThrow();
    expect(text).toContain("127.0.0.1:50051");
  });

  it("are JSON when stdout is not a terminal (a file, a pipe, a collector)", () => {
    const record = JSON.parse(logged("auto", false)) as Record<string, unknown>;
    expect(record).toMatchObject({ level: 30, msg: "ib-provider is serving", service: "ib-provider", grpc: "127.0.0.1:50051" });
  });

  it("follow LOG_FORMAT over the terminal check: pretty into a pipe, JSON onto a terminal", () => {
    expect(logged("pretty", false)).toMatch(/INFO.*ib-provider is serving/);
    expect(logged("pretty", false), "no colour codes outside a terminal").not.toContain("\u001b[");
    expect(JSON.parse(logged("json", true))).toHaveProperty("msg", "ib-provider is serving");
  });

  it.each([
    ["json", false],
    ["pretty", true],
  ] as const)("never show a token or a whole account id (%s)", (format, isTTY) => {
    const text = logged(format, isTTY);
    expect(text).not.toContain("s3cret");
    expect(text).not.toContain("DU1234567");
    expect(text).toContain("[redacted]");
    expect(text).toContain("DU***567");
  });
});
