import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../log/logger.js";
import { until } from "../testing/until.js";
import { natsServerVerdict, startNatsServer, type NatsServer } from "../testing/natsServer.js";
import { serveCalls } from "./busRpc.js";
import { DEFAULT_BUS_SETTINGS } from "./busSettings.js";
import { BusUnavailableError } from "./busUnavailableError.js";
import { connectEdgeBus, type EdgeBus } from "./edgeBus.js";
import { startProviderBus } from "./providerBus.js";

// An edge's calls while its bus connection comes and goes (a real nats-server, stopped and restarted).
const verdict = natsServerVerdict();
if (verdict.message !== undefined && !verdict.run) console.warn(`skipped: ${verdict.message}`);

describe.skipIf(!verdict.run)("an edge's calls across a lost bus connection", () => {
  let server: NatsServer;
  let provider: NatsConnection;
  let edge: EdgeBus;

  beforeAll(async () => {
    if (verdict.message !== undefined) throw new Error(verdict.message);
    server = await startNatsServer();
    provider = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    edge = await connectEdgeBus({ ...DEFAULT_BUS_SETTINGS, servers: [server.url], url: server.url, subjectPrefix: "eb" }, createLogger("silent"));
  }, 20_000);

  afterAll(async () => {
    await Promise.all([provider?.close(), edge?.close()]);
    await server?.close();
  });

  it("fails a call in flight UNAVAILABLE (retry) when the connection is lost, not at its deadline; calls work again once it is back", async () => {
    let answerNow: (() => void) | undefined;
    const answering = serveCalls(provider, "eb", async (call) => {
      if (Buffer.from(call.body).toString() === "hold") await new Promise<void>((resolve) => (answerNow = resolve));
      return { ok: true, body: Buffer.from("answer") };
    });
    await provider.flush();
    const started = Date.now();
    const pending = edge.call({ method: "/m", headers: {}, body: Buffer.from("hold"), timeoutMs: 15_000 });
    await until(() => answerNow !== undefined, { what: "the provider to get the call" });
    await server.stop();
    const reply = await pending;
    expect(reply).toMatchObject({ ok: false, code: 14 });
    expect(Date.now() - started).toBeLessThan(10_000);
    answerNow!();
    await server.restart();
    await until(() => edge.isConnected(), { what: "the edge to reconnect", timeoutMs: 10_000 });
    await provider.flush();
    expect(await edge.call({ method: "/m", headers: {}, body: Buffer.from("now"), timeoutMs: 5_000 })).toEqual({ ok: true, body: Buffer.from("answer") });
    await answering.close();
  }, 30_000);
});

describe.skipIf(!verdict.run)("a tls:// BUS_URL", () => {
  it("is never connected to in clear: a server without TLS is refused (the edge forwards callers' tokens in headers)", async () => {
    const server = await startNatsServer();
    try {
      const url = `tls://127.0.0.1:${server.port}`;
      const settings = { ...DEFAULT_BUS_SETTINGS, servers: [url], url, subjectPrefix: "tl" };
      await expect(connectEdgeBus(settings, createLogger("silent")).then(async (bus) => void (await bus.close()))).rejects.toBeInstanceOf(BusUnavailableError);
      const directory = { account: () => undefined, feed: () => undefined };
      await expect(startProviderBus(settings, directory, createLogger("silent")).then(async (bus) => void (await bus.close(0)))).rejects.toBeInstanceOf(BusUnavailableError);
    } finally {
      await server.close();
    }
  });
});
