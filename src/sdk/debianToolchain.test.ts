import { describe, expect, it } from "vitest";
import { toolchainVerdict, type DebianToolchain } from "./debianToolchain.js";

const chain = (missing: string[]): DebianToolchain => ({ language: "Python", packages: ["protobuf-compiler", "python3-grpcio"], missing: () => missing });

describe("whether an SDK test runs", () => {
  it("runs when every Debian package is installed", () => {
    expect(toolchainVerdict(chain([]), {})).toEqual({ run: true, message: undefined });
  });

  it("is skipped outside CI when a package is missing, naming it and the apt-get line", () => {
    const verdict = toolchainVerdict(chain(["python3-grpcio"]), {});
    expect(verdict.run).toBe(false);
    expect(verdict.message).toBe("Python SDK: missing Debian packages python3-grpcio (apt-get install -y --no-install-recommends protobuf-compiler python3-grpcio)");
  });

  it("runs (and so fails) in CI when a package is missing: CI must prove the SDKs", () => {
    expect(toolchainVerdict(chain(["python3-grpcio"]), { CI: "true" }).run).toBe(true);
  });
});
