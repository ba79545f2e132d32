import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { create, createFileRegistry, fromBinary, toBinary, type DescMessage, type FileRegistry, type Message } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema, type FileDescriptorSet } from "@bufbuild/protobuf/wkt";
import { Server, ServerCredentials, status, type ServerUnaryCall, type ServerWritableStream, type sendUnaryData, type ServiceDefinition } from "@grpc/grpc-js";
import { ApiError } from "../../grpc/apiError.js";
import { toServiceError } from "../../grpc/statusDetails.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/**
 * Compiles src/rest/testdata/bridge_test.proto with buf, as `npm run gen` compiles proto/: the bridge
 * then gets a service it has no code for.
 */
export function buildTestImage(): FileDescriptorSet {
  const dir = mkdtempSync(join(tmpdir(), "ibp-bridge-proto-"));
  try {
    mkdirSync(join(dir, "google", "api"), { recursive: true });
    for (const f of ["annotations.proto", "http.proto"]) copyFileSync(join(ROOT, "proto", "google", "api", f), join(dir, "google", "api", f));
    copyFileSync(join(ROOT, "src", "rest", "testdata", "bridge_test.proto"), join(dir, "bridge_test.proto"));
    const out = join(dir, "image.binpb");
    execFileSync(join(ROOT, "node_modules", ".bin", "buf"), ["build", dir, "-o", out], { stdio: "pipe", timeout: 30_000 });
    return fromBinary(FileDescriptorSetSchema, readFileSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A Count stream as the test server saw it. */
export interface CountStreamRecord {
  cancelled: boolean;
  /** Messages handed to grpc-js so far. */
  written: number;
  ended: Promise<"cancelled" | "finished">;
}

export interface BridgeTestServer {
  port: number;
  registry: FileRegistry;
  countStreams: CountStreamRecord[];
  stop(): Promise<void>;
}

const identity = (b: Buffer) => b;

/** The test service over grpc-js, implemented on raw bytes with @bufbuild/protobuf (no generated code). */
export async function startBridgeTestServer(image: FileDescriptorSet): Promise<BridgeTestServer> {
  const registry = createFileRegistry(image);
  const message = (name: string): DescMessage => {
    const desc = registry.getMessage(`bridgetest.v1.${name}`);
    if (desc === undefined) throw new Error(`test image lacks ${name}`);
    return desc;
  };
  const EchoRequest = message("EchoRequest");
  const EchoResponse = message("EchoResponse");
  const FailRequest = message("FailRequest");
  const FailResponse = message("FailResponse");
  const CountRequest = message("CountRequest");
  const CountResponse = message("CountResponse");
  const countStreams: CountStreamRecord[] = [];

  const method = (name: string, responseStream: boolean) => ({
    path: `/bridgetest.v1.BridgeTestService/${name}`,
    requestStream: false,
    responseStream,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  });
  const definition: ServiceDefinition = {
    Echo: method("Echo", false),
    Fail: method("Fail", false),
    Count: method("Count", true),
    Tags: method("Tags", false),
  };

  const echo = (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
    const request = fromBinary(EchoRequest, call.request) as Message & { tags: string[] };
    const metadata: Record<string, string> = {};
    for (const key of ["authorization", "x-api-token", "x-custom", "x-forwarded-for"]) {
      const value = call.metadata.get(key)[0];
      if (typeof value === "string") metadata[key] = value;
    }
    const response = create(EchoResponse, { echoed: request, metadata, tags: request.tags } as never);
    callback(null, Buffer.from(toBinary(EchoResponse, response)));
  };

  const server = new Server();
  server.addService(definition, {
    Echo: echo,
    Tags: echo,
    Fail: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
      const { code } = fromBinary(FailRequest, call.request) as Message & { code: number };
      if (code === 0) callback(null, Buffer.from(toBinary(FailResponse, create(FailResponse))));
      else callback(toServiceError(new ApiError(code as status, `failing with code ${code} as asked`, "TEST_FAILURE", { code: String(code) })));
    },
    Count: (call: ServerWritableStream<Buffer, Buffer>) => {
      const request = fromBinary(CountRequest, call.request) as Message & { count: number; failCode: number; hold: boolean; respectBackpressure: boolean; paddingBytes: number };
      let resolveEnded: (how: "cancelled" | "finished") => void = () => undefined;
      const record: CountStreamRecord = { cancelled: false, written: 0, ended: new Promise((r) => (resolveEnded = r)) };
      countStreams.push(record);
      call.on("cancelled", () => {
        record.cancelled = true;
        resolveEnded("cancelled");
      });
      const padding = "x".repeat(request.paddingBytes);
      const encode = (n: number) => Buffer.from(toBinary(CountResponse, create(CountResponse, { n, big: BigInt(n) * 10_000_000_000n, padding } as never)));
      const finish = () => {
        if (record.cancelled || request.hold) return; // held streams stay open until the client cancels
        if (request.failCode !== 0) call.emit("error", toServiceError(new ApiError(request.failCode as status, "the count failed as asked", "TEST_FAILURE")));
        else call.end();
        resolveEnded("finished");
      };
      if (!request.respectBackpressure) {
        for (let n = 1; n <= request.count; n++, record.written++) call.write(encode(n));
        finish();
        return;
      }
      void (async () => {
        for (let n = 1; n <= request.count && !record.cancelled; n++) {
          record.written++;
          if (!call.write(encode(n))) await Promise.race([new Promise((r) => call.once("drain", r)), record.ended]);
        }
        finish();
      })();
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    port,
    registry,
    countStreams,
    stop: () =>
      new Promise<void>((resolve) => {
        server.forceShutdown();
        resolve();
      }),
  };
}
