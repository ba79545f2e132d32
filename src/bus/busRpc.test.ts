import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { natsServerVerdict, startNatsServer, type NatsServer } from "../testing/natsServer.js";
import { until } from "../testing/until.js";
import { sendCall, serveCalls } from "./busRpc.js";

// Calls over a real nats-server: what an edge sends and the provider answers, bytes for bytes.
const verdict = natsServerVerdict();
if (verdict.message !== undefined && !verdict.run) console.warn(`skipped: ${verdict.message}`);

describe.skipIf(!verdict.run)("calls over the bus", () => {
  let server: NatsServer;
  let provider: NatsConnection;
  let edge: NatsConnection;

  beforeAll(async () => {
    if (verdict.message !== undefined) throw new Error(verdict.message);
    server = await startNatsServer();
    [provider, edge] = await Promise.all([connect({ servers: server.url }), connect({ servers: server.url })]);
  }, 20_000);

  afterAll(async () => {
    await Promise.all([provider?.close(), edge?.close()]);
    await server?.close();
  });

  it("carries the method, the caller's headers and the request; answers a reply larger than a NATS message whole", async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    const seen: { method: string; headers: Record<string, string>; body: string }[] = [];
    const answering = serveCalls(provider, "t1", async (call) => {
      seen.push({ method: call.method, headers: call.headers, body: Buffer.from(call.body).toString() });
      return { ok: true, body: big };
    });
    await provider.flush();
    const reply = await sendCall(edge, "t1", { method: "/pkg.Service/Method", headers: { authorization: "Bearer x" }, body: Buffer.from("request"), timeoutMs: 5_000 });
    expect(reply.ok).toBe(true);
    expect(reply.ok && Buffer.compare(Buffer.from(reply.body), big)).toBe(0);
    expect(seen).toEqual([{ method: "/pkg.Service/Method", headers: { authorization: "Bearer x" }, body: "request" }]);
    await answering.close();
  });

  it("carries a failure's code, message and details; says so when no provider answers", async () => {
    const answering = serveCalls(provider, "t2", async () => ({ ok: false, code: 5, message: "no such symbol\nat all", details: Buffer.from([1, 2, 3]) }));
    await provider.flush();
    expect(await sendCall(edge, "t2", { method: "/m", headers: {}, body: new Uint8Array(), timeoutMs: 5_000 })).toEqual({ ok: false, code: 5, message: "no such symbol at all", details: Buffer.from([1, 2, 3]) });
    await answering.close();
    const none = await sendCall(edge, "t3", { method: "/m", headers: {}, body: new Uint8Array(), timeoutMs: 5_000 });
    expect(none).toMatchObject({ ok: false, code: 14 });
  });

  it("tells the provider when its caller gave up (cancelled): the call is cancelled there too, not run for no one", async () => {
    let providerSignal: AbortSignal | undefined;
    const answering = serveCalls(provider, "t5", (_call, signal) => {
      providerSignal = signal;
      return new Promise((resolve) => signal.addEventListener("abort", () => resolve({ ok: false, code: 1, message: "cancelled" })));
    });
    await provider.flush();
    const cancel = new AbortController();
    const pending = sendCall(edge, "t5", { method: "/m", headers: {}, body: new Uint8Array(), timeoutMs: 15_000 }, { cancelled: cancel.signal });
    await until(() => providerSignal !== undefined, { what: "the provider to get the call" });
    cancel.abort();
    expect(await pending).toMatchObject({ ok: false, code: 1 });
    await until(() => providerSignal!.aborted, { what: "the provider's call to be cancelled" });
    await answering.close();
  });

  it("carries a call without a deadline as one (the provider sets none); the sender's own wait, once over, cancels it at the provider", async () => {
    const seen: (number | undefined)[] = [];
    let providerSignal: AbortSignal | undefined;
    const answering = serveCalls(provider, "t6", (call, signal) => {
      seen.push(call.timeoutMs);
      providerSignal = signal;
      return new Promise((resolve) => signal.addEventListener("abort", () => resolve({ ok: false, code: 1, message: "cancelled" })));
    });
    await provider.flush();
    const reply = await sendCall(edge, "t6", { method: "/m", headers: {}, body: new Uint8Array() }, { noDeadlineWaitMs: 300 });
    expect(reply).toMatchObject({ ok: false, code: 4 });
    expect(seen).toEqual([undefined]);
    await until(() => providerSignal!.aborted, { what: "the provider's call to be cancelled" });
    await answering.close();
  });

  it("fails at once, UNAVAILABLE, when a chunk of the answer is missing (NATS keeps a sender's order: a gap is a loss), not at the deadline", async () => {
    const raw = provider.subscribe("t7.rpc", {
      callback: (_err, msg) => {
        for (const chunk of ["1/3", "3/3"]) {
          const h = headers();
          h.set("Ibp-Chunk", chunk);
          provider.publish(msg.reply!, Buffer.from(chunk), { headers: h });
        }
      },
    });
    await provider.flush();
    const started = Date.now();
    const reply = await sendCall(edge, "t7", { method: "/m", headers: {}, body: new Uint8Array(), timeoutMs: 8_000 });
    expect(reply).toMatchObject({ ok: false, code: 14 });
    expect(Date.now() - started).toBeLessThan(4_000);
    raw.unsubscribe();
  });

  it("waits out a caller's deadline beyond setTimeout's range (a year): not DEADLINE_EXCEEDED at once", async () => {
    const answering = serveCalls(provider, "t4", async () => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      return { ok: true, body: Buffer.from("late") };
    });
    await provider.flush();
    const reply = await sendCall(edge, "t4", { method: "/m", headers: {}, body: new Uint8Array(), timeoutMs: 365 * 24 * 3_600_000 });
    expect(reply).toEqual({ ok: true, body: Buffer.from("late") });
    await answering.close();
  });
});

describe.skipIf(!verdict.run)("answering calls when the connection has ended", () => {
  it("stops answering without an error (a provider's stop goes on to close its store)", async () => {
    const server = await startNatsServer();
    try {
      const nc = await connect({ servers: server.url });
      const answering = serveCalls(nc, "c1", async () => ({ ok: true, body: new Uint8Array() }));
      await nc.close();
      await expect(answering.close()).resolves.toBeUndefined();
    } finally {
      await server.close();
    }
  });
});

describe.skipIf(!verdict.run)("calls over a bus whose max_payload is small", () => {
  let server: NatsServer;
  let provider: NatsConnection;
  let edge: NatsConnection;

  beforeAll(async () => {
    if (verdict.message !== undefined) throw new Error(verdict.message);
    server = await startNatsServer({ maxPayload: 8 * 1024 });
    [provider, edge] = await Promise.all([connect({ servers: server.url }), connect({ servers: server.url })]);
  }, 20_000);

  afterAll(async () => {
    await Promise.all([provider?.close(), edge?.close()]);
    await server?.close();
  });

  it("answers in chunks that fit it (smaller than the room kept for headers)", async () => {
    expect(provider.info?.max_payload).toBe(8 * 1024);
    const big = Buffer.alloc(100 * 1024 + 3, 7);
    const answering = serveCalls(provider, "s1", async () => ({ ok: true, body: big }));
    await provider.flush();
    const reply = await sendCall(edge, "s1", { method: "/m", headers: {}, body: new Uint8Array(), timeoutMs: 3_000 });
    expect(reply.ok && Buffer.compare(Buffer.from(reply.body), big)).toBe(0);
    await answering.close();
  });

  it("refuses a request larger than the bus takes RESOURCE_EXHAUSTED (not UNAVAILABLE: a retry would fail the same)", async () => {
    const reply = await sendCall(edge, "s3", { method: "/m", headers: {}, body: Buffer.alloc(16 * 1024), timeoutMs: 3_000 });
    expect(reply).toMatchObject({ ok: false, code: 8 });
  });

  it("says INTERNAL, not silence (and no unhandled rejection), when a failure's details cannot be sent", async () => {
    const answering = serveCalls(provider, "s2", async () => ({ ok: false, code: 3, message: "invalid", details: Buffer.alloc(16 * 1024, 1) }));
    await provider.flush();
    const reply = await sendCall(edge, "s2", { method: "/m", headers: {}, body: new Uint8Array(), timeoutMs: 3_000 });
    expect(reply).toMatchObject({ ok: false, code: 13 });
    await answering.close();
  });
});
