import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

/**
 * The Debian packages each SDK needs (the machines reach Debian and npm only: no PyPI, no Go proxy), with a
 * file or an import that proves each one is installed. `.ci/run` installs them; the README lists them.
 */
export interface DebianToolchain {
  language: string;
  packages: readonly string[];
  /** Packages not installed here, in the order of `packages`. */
  missing(): string[];
}

/** Debian's interpreter: the one that sees python3-grpcio / python3-protobuf (a pyenv `python3` does not). */
export const DEBIAN_PYTHON = "/usr/bin/python3";
/** Where Debian's golang-*-dev packages install Go sources, used as a GOPATH entry. */
export const DEBIAN_GOCODE = "/usr/share/gocode";

function pythonImports(module: string): boolean {
  try {
    execFileSync(DEBIAN_PYTHON, ["-c", `import ${module}`], { stdio: "ignore", timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

function toolchain(language: string, probes: ReadonlyArray<readonly [pkg: string, installed: () => boolean]>): DebianToolchain {
  return {
    language,
    packages: probes.map(([pkg]) => pkg),
    missing: () => probes.filter(([, installed]) => !installed()).map(([pkg]) => pkg),
  };
}

const file = (path: string) => () => existsSync(path);

export const pythonToolchain: DebianToolchain = toolchain("Python", [
  ["protobuf-compiler", file("/usr/bin/protoc")],
  ["protobuf-compiler-grpc", file("/usr/bin/grpc_python_plugin")],
  ["python3-grpcio", () => existsSync(DEBIAN_PYTHON) && pythonImports("grpc")],
  ["python3-protobuf", () => existsSync(DEBIAN_PYTHON) && pythonImports("google.protobuf")],
]);

export const goToolchain: DebianToolchain = toolchain("Go", [
  ["golang-go", file("/usr/bin/go")],
  ["protoc-gen-go", file("/usr/bin/protoc-gen-go")],
  ["protoc-gen-go-grpc", file("/usr/bin/protoc-gen-go-grpc")],
  ["golang-google-grpc-dev", file(`${DEBIAN_GOCODE}/src/google.golang.org/grpc/server.go`)],
  ["golang-google-protobuf-dev", file(`${DEBIAN_GOCODE}/src/google.golang.org/protobuf/proto/decode.go`)],
  // grpc-go 1.33 still imports github.com/golang/protobuf; 1-5 is the APIv2-backed one protoc-gen-go 1.28 fits.
  ["golang-github-golang-protobuf-1-5-dev", file(`${DEBIAN_GOCODE}/src/github.com/golang/protobuf/proto/wrappers.go`)],
  ["golang-google-genproto-dev", file(`${DEBIAN_GOCODE}/src/google.golang.org/genproto/googleapis/rpc/errdetails/error_details.pb.go`)],
]);

/**
 * CI must prove the SDKs, so there a missing package is a failure; on a developer machine the SDK tests
 * are skipped with the command that would enable them.
 */
export function toolchainVerdict(chain: DebianToolchain, env: NodeJS.ProcessEnv = process.env): { run: boolean; message: string | undefined } {
  const missing = chain.missing();
  if (missing.length === 0) return { run: true, message: undefined };
  const message = `${chain.language} SDK: missing Debian packages ${missing.join(", ")} (apt-get install -y --no-install-recommends ${chain.packages.join(" ")})`;
  return { run: env.CI !== undefined && env.CI !== "", message };
}
