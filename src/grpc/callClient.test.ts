import { credentials, Metadata, ResponderBuilder, ServerInterceptingCall, ServerListenerBuilder, status, type ServerInterceptor, type ServiceError } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { HealthClient } from "../../gen/grpc/health/v1/health.js";
import { MarketDataServiceClient } from "../../gen/ibprovider/v1/market_data_service.js";
import { RuntimeServiceClient } from "../../gen/ibprovider/v1/runtime_service.js";
import { createLogger } from "../log/logger.js";
import { firstOutcome } from "../testing/firstOutcome.js";
import { noInstruments } from "./testing/noInstruments.js";
import { TokenAuthenticator } from "./auth.js";
import { GrpcServer } from "./server.js";
import { readRichStatus } from "./statusDetails.js";

// Issue 13 item 3, a security leftover: the client a call's token resolved to is looked up by the
// metadata object the auth interceptor saw. A handler given another object (an interceptor that clones
// it) used to run the call as `anonymous`; with authentication on it now fails closed.
const TOKEN = "call-client-token-0123";

/** The seam: an interceptor after authentication that passes on a clone of the metadata. */
const cloningMetadata: ServerInterceptor = (_method, call) =>
  new ServerInterceptingCall(
    call,
    new ResponderBuilder().withStart((next) => next(new ServerListenerBuilder().withOnReceiveMetadata((metadata, pass) => pass(metadata.clone())).build())).build(),
  );

const servers: GrpcServer[] = [];
const closers: { close(): void }[] = [];

async function startServer(options: { token: string | undefined; clone: boolean }) {
  const server = new GrpcServer({
    host: "127.0.0.1",
    port: 0,
    auth: new TokenAuthenticator(options.token),
    log: createLogger("silent"),
    shutdownGraceMs: 1_000,
    runtime: { provider: { apiToken: undefined, ib: undefined, ignoredConnectors: [] }, startedAt: new Date(), serviceVersion: "t", gateway: () => undefined, subscriptions: () => [] },
    adapter: noInstruments,
    ...(options.clone ? { interceptorsAfterAuth: [cloningMetadata] } : {}),
  });
  await server.start();
  servers.push(server);
  const runtime = new RuntimeServiceClient(server.address, credentials.createInsecure());
  const marketData = new MarketDataServiceClient(server.address, credentials.createInsecure());
  const health = new HealthClient(server.address, credentials.createInsecure());
  closers.push(runtime, marketData, health);
  return { runtime, marketData, health };
}

afterEach(async () => {
  for (const c of closers.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.shutdown();
});

const withToken = () => {
  const md = new Metadata();
  md.set("authorization", `Bearer ${TOKEN}`);
  return md;
};

function outcome<T>(call: (cb: (err: ServiceError | null, res?: T) => void) => void): Promise<ServiceError | "ok"> {
  return new Promise((resolve) => call((err) => resolve(err ?? "ok")));
}

function expectUnresolved(result: "ok" | "open" | ServiceError): void {
  expect(result).not.toBe("ok");
  expect(result).not.toBe("open");
  const err = result as ServiceError;
  expect(err.code).toBe(status.INTERNAL);
  expect(readRichStatus(err)?.errorInfo?.reason).toBe("CLIENT_UNRESOLVED");
}

describe("the call's client, fail closed", () => {
  it("refuses with INTERNAL CLIENT_UNRESOLVED an authenticated unary call, stream and open health check whose metadata the auth interceptor never saw", async () => {
    const { runtime, marketData, health } = await startServer({ token: TOKEN, clone: true });
    expectUnresolved(await outcome((cb) => runtime.listConnectors({ connectorType: "", marketType: "" }, withToken(), cb)));
    expectUnresolved(await firstOutcome(marketData.streamTicks({ connectorType: "ib", marketType: "spot", symbol: "AAPL" }, withToken())));
    expectUnresolved(await outcome((cb) => health.check({ service: "" }, cb)));
    // A caller without a token is still refused for that, not let through.
    const noToken = await outcome((cb) => runtime.listConnectors({ connectorType: "", marketType: "" }, cb));
    expect((noToken as ServiceError).code).toBe(status.UNAUTHENTICATED);
  });

  it("serves the same calls when the interceptor's metadata reaches the handler", async () => {
    const { runtime, marketData, health } = await startServer({ token: TOKEN, clone: false });
    expect(await outcome((cb) => runtime.listConnectors({ connectorType: "", marketType: "" }, withToken(), cb))).toBe("ok");
    const ticks = await firstOutcome(marketData.streamTicks({ connectorType: "ib", marketType: "spot", symbol: "AAPL" }, withToken()));
    expect((ticks as ServiceError).code).toBe(status.NOT_FOUND); // the stub adapter knows no symbol
    expect(await outcome((cb) => health.check({ service: "" }, cb))).toBe("ok");
  });

  it("with authentication off, every call is anonymous, whatever object reaches the handler", async () => {
    const { runtime } = await startServer({ token: undefined, clone: true });
    expect(await outcome((cb) => runtime.listConnectors({ connectorType: "", marketType: "" }, cb))).toBe("ok");
  });
});
