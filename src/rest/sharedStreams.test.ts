import { EventEmitter } from "node:events";
import { createServer, type Server } from "node:http";
import { connect, type AddressInfo } from "node:net";
import type { ClientReadableStream } from "@grpc/grpc-js";
import express from "express";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../log/logger.js";
import { httpOpenStreams } from "../metrics/metrics.js";
import { until } from "../testing/until.js";
import { SharedStreams } from "./sharedStreams.js";
import { followSse as follow } from "./testing/sseMessages.js";

/**
 * The seam: the bridge's gRPC call, replaced by an emitter the test drives (data = JSON bytes, then end);
 * the HTTP side is real (express on a loopback port, clients over sockets).
 */
class FakeCall extends EventEmitter {
  cancelled = false;
  cancel(): void {
    this.cancelled = true;
    this.emit("end");
  }
  /** Ends the call as grpc-js does: the error (a ServiceError) first, then 'end'. */
  fail(code: number, details: string): void {
    this.emit("error", Object.assign(new Error(details), { code, details, metadata: { getMap: () => ({}), get: () => [] } }));
    this.emit("end");
  }
  send(message: unknown): void {
    this.emit("data", Buffer.from(JSON.stringify(message)));
  }
}

describe("streams shared by the console's clients", () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  });

  async function serve(shared: SharedStreams, calls: FakeCall[]): Promise<string> {
    const app = express();
    app.get("/stream", (_req, res) =>
      shared.join("the-stream", res, () => {
        const call = new FakeCall();
        calls.push(call);
        return call as unknown as ClientReadableStream<Buffer>;
      }, (bytes) => JSON.parse(bytes.toString()) as never),
    );
    server = createServer(app);
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/stream`;
  }

  it("opens one call for every client, gives a late joiner the state first, and cancels the call when the last leaves", async () => {
    const shared = new SharedStreams({ log: createLogger("silent") });
    const calls: FakeCall[] = [];
    const url = await serve(shared, calls);
    const first: unknown[] = [];
    const leaveFirst = new AbortController();
    void follow(url, first, leaveFirst.signal);
    await until(() => calls.length === 1, { what: "the shared call to open" });
    calls[0]!.send({ events: [{ sequence: "1", trade: { price: "1" } }] });
    await until(() => first.length === 1, { what: "the first client's message" });
    const second: unknown[] = [];
    const leaveSecond = new AbortController();
    void follow(url, second, leaveSecond.signal);
    await until(() => second.length === 1, { what: "the late joiner's state" });
    expect(second[0]).toEqual({ events: [{ sequence: "1", trade: { price: "1" } }] });
    calls[0]!.send({ events: [{ sequence: "2", trade: { price: "2" } }] });
    await until(() => first.length === 2 && second.length === 2, { what: "the next message at both" });
    expect(calls).toHaveLength(1);
    leaveFirst.abort();
    await until(() => shared.upstreamCount === 1 && !calls[0]!.cancelled, { what: "the call to stay for the second client" });
    leaveSecond.abort();
    await until(() => calls[0]!.cancelled && shared.upstreamCount === 0, { what: "the call to be cancelled with its last client" });
  });

  it("disconnects a client that stops reading, and keeps serving the others every message", async () => {
    const shared = new SharedStreams({ log: createLogger("silent"), maxPendingBytes: 256 * 1024 });
    const calls: FakeCall[] = [];
    const url = await serve(shared, calls);
    const reading: unknown[] = [];
    const leave = new AbortController();
    void follow(url, reading, leave.signal);
    // A client that sends its request and never reads what comes back.
    const { port } = new URL(url);
    const stalled = connect(Number(port), "127.0.0.1");
    stalled.pause();
    stalled.on("error", () => undefined);
    stalled.write("GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n");
    await until(() => shared.clientCount === 2, { what: "both clients to join" });
    // The stalled client fills the kernel's buffers, then its own, up to the limit.
    const filler = "x".repeat(32 * 1024);
    let sent = 0;
    await until(
      () => {
        // Paced by the reading client: it is never more than two messages behind.
        if (reading.length === sent) for (let i = 0; i < 2; i++) calls[0]!.send({ events: [{ sequence: String(++sent), trade: { price: filler } }] });
        return shared.clientCount === 1;
      },
      { what: "the stalled client to be disconnected", timeoutMs: 10_000 },
    );
    await until(() => reading.length === sent, { what: "every message at the reading client" });
    expect(calls[0]!.cancelled).toBe(false);
    leave.abort();
    stalled.destroy();
    await until(() => shared.clientCount === 0 && calls[0]!.cancelled, { what: "both clients gone and the call cancelled" });
  });

  const openSseStreams = async () => (await httpOpenStreams.get()).values.find((v) => v.labels.framing === "sse")?.value ?? 0;

  it("answers a call refused before its first message with the error status, and leaves the open-streams gauge as it was", async () => {
    const shared = new SharedStreams({ log: createLogger("silent") });
    const calls: FakeCall[] = [];
    const url = await serve(shared, calls);
    const before = await openSseStreams();
    const answered = fetch(url, { headers: { Accept: "text/event-stream" } });
    await until(() => calls.length === 1, { what: "the shared call to open" });
    calls[0]!.fail(5, "no symbol NOSUCH1");
    const res = await answered;
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 5, message: "no symbol NOSUCH1" });
    await until(() => shared.clientCount === 0, { what: "the refused client to be gone" });
    // Nothing was opened as a stream: the gauge must not have been decremented for it.
    await until(async () => (await openSseStreams()) === before, { what: `the open SSE streams gauge back at ${before}` });
  });

  it("ends the stream with INTERNAL after a message it cannot convert, and relays nothing after it (the call's buffered messages neither)", async () => {
    const shared = new SharedStreams({ log: createLogger("silent") });
    const calls: FakeCall[] = [];
    const app = express();
    app.get("/stream", (_req, res) =>
      shared.join("the-stream", res, () => {
        // As grpc-js: a cancelled call still delivers the messages it had buffered, then ends.
        const call = new FakeCall();
        call.cancel = () => void (call.cancelled = true);
        calls.push(call);
        return call as unknown as ClientReadableStream<Buffer>;
      }, (bytes) => {
        const json = JSON.parse(bytes.toString()) as { bad?: boolean };
        if (json.bad === true) throw new Error("cannot convert");
        return json as never;
      }),
    );
    server = createServer(app);
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/stream`;
    const got: unknown[] = [];
    const done = follow(url, got, new AbortController().signal);
    await until(() => calls.length === 1, { what: "the shared call to open" });
    calls[0]!.send({ n: 1 });
    await until(() => got.length === 1, { what: "the first message" });
    calls[0]!.send({ bad: true });
    expect(calls[0]!.cancelled).toBe(true);
    calls[0]!.send({ n: 2 });
    calls[0]!.emit("end");
    expect(await done).toBe(200);
    expect(got).toEqual([{ n: 1 }, expect.objectContaining({ code: 13, message: "internal error" })]);
  });
});
