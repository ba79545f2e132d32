import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { credentials, loadPackageDefinition, Server, ServerCredentials, status, type Client, type ClientDuplexStream, type ServiceClientConstructor, type ServiceError } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { describe, expect, it } from "vitest";
import { firstOutcome } from "../testing/firstOutcome.js";
import { until } from "../testing/until.js";
import { useOpenServers } from "./testing/openServers.js";
import { addReflection, DEFAULT_REFLECTION_LIMITS, type ReflectionLimits } from "./reflection.js";
import { readRichStatus } from "./statusDetails.js";

// Issue 13, item 4's sibling: reflection streams (ServerReflectionInfo, open without a token like health
// Watch) are bounded per connection and in total; before, any caller could open them without limit.
const reflectionProto = join(dirname(createRequire(import.meta.url).resolve("@grpc/reflection/package.json")), "build/proto/grpc/reflection/v1/reflection.proto");
const ReflectionClient = (loadPackageDefinition(loadSync(reflectionProto, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true })) as unknown as {
  grpc: { reflection: { v1: { ServerReflection: ServiceClientConstructor } } };
}).grpc.reflection.v1.ServerReflection;

type ReflectionStream = ClientDuplexStream<unknown, unknown>;

const openServer = useOpenServers(ReflectionClient);
const startServer = (reflectionLimits?: ReflectionLimits) => openServer(reflectionLimits === undefined ? {} : { reflectionLimits });

/** Opens a reflection stream and asks for the service list: "open" once answered, or the error it ended with. */
function reflect(client: Client): { stream: ReflectionStream; outcome: Promise<"open" | ServiceError> } {
  const stream = (client as unknown as { ServerReflectionInfo(): ReflectionStream }).ServerReflectionInfo();
  const outcome = firstOutcome(stream);
  stream.write({ host: "", list_services: "" });
  return { stream, outcome };
}

function expectLimit(outcome: "open" | ServiceError, scope: "connection" | "server", limit: number): void {
  expect(outcome).not.toBe("open");
  const err = outcome as ServiceError;
  expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
  expect(readRichStatus(err)?.errorInfo).toMatchObject({ reason: "REFLECTION_STREAM_LIMIT", metadata: { scope, limit: String(limit) } });
}

describe("reflection streams without a token", () => {
  it(`admits ${DEFAULT_REFLECTION_LIMITS.perConnection} streams per connection by default and refuses the next with RESOURCE_EXHAUSTED REFLECTION_STREAM_LIMIT, while another connection still reflects`, async () => {
    const { server, connection } = await startServer();
    const { perConnection } = DEFAULT_REFLECTION_LIMITS;
    const client = connection();
    const streams = Array.from({ length: perConnection }, () => reflect(client));
    expect(await Promise.all(streams.map((s) => s.outcome))).toEqual(streams.map(() => "open"));
    expectLimit(await reflect(client).outcome, "connection", perConnection);
    expect(await reflect(connection()).outcome).toBe("open");
    expect(server.openReflections).toEqual({ total: perConnection + 1, maxPerConnection: perConnection });
  });

  it("bounds them in total across connections", async () => {
    const { server, connection } = await startServer({ perConnection: 3, total: 5 });
    const a = connection();
    const b = connection();
    const open = [...[1, 2, 3].map(() => reflect(a)), ...[1, 2].map(() => reflect(b))];
    expect(await Promise.all(open.map((s) => s.outcome))).toEqual(open.map(() => "open"));
    expectLimit(await reflect(connection()).outcome, "server", 5);
    expect(server.openReflections.total).toBe(5);
  });

  it("gives places back when streams are cancelled or ended, over repeated cycles", async () => {
    const { server, connection } = await startServer({ perConnection: 3, total: 5 });
    const client = connection();
    for (let cycle = 0; cycle < 10; cycle++) {
      const streams = [reflect(client), reflect(client), reflect(client)];
      expect(await Promise.all(streams.map((s) => s.outcome))).toEqual(["open", "open", "open"]);
      expectLimit(await reflect(client).outcome, "connection", 3);
      // One cancelled, two half-closed by the client (the server then ends them with OK).
      streams[0]!.stream.on("error", () => undefined);
      streams[0]!.stream.cancel();
      for (const s of streams.slice(1)) {
        s.stream.on("error", () => undefined);
        s.stream.end();
      }
      await until(() => server.openReflections.total === 0, { what: `every reflection place given back after cycle ${cycle}` });
    }
  });
});

describe("a reflection stream whose client does not read", () => {
  it("stops reading its requests while its answers wait, and answers them all once the client reads", async () => {
    const server = new Server();
    const streams = addReflection(server, { perConnection: 2, total: 2 });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    const client = new ReflectionClient(`127.0.0.1:${port}`, credentials.createInsecure());
    try {
      const stream = (client as unknown as { ServerReflectionInfo(): ReflectionStream }).ServerReflectionInfo();
      const REQUESTS = 2_000;
      // Each answer is the file descriptors of a service (kilobytes); the client reads none of them.
      for (let i = 0; i < REQUESTS; i++) stream.write({ host: "", file_containing_symbol: "ibprovider.v1.MarketDataService" });
      await until(() => streams.paused === 1, { what: "the stream to stop reading requests while answers wait" });
      const held = streams.answered;
      expect(held).toBeLessThan(REQUESTS / 4);
      let received = 0;
      stream.on("data", () => received++);
      await until(() => received === REQUESTS, { timeoutMs: 20_000, what: "every request answered once the client reads" });
      expect(streams.answered).toBe(REQUESTS);
      stream.end();
      await until(() => streams.open.total === 0 && streams.paused === 0, { what: "the stream's place given back" });
    } finally {
      client.close();
      server.forceShutdown();
    }
  });
});
