import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { natsServerVerdict, startNatsServer, type NatsServer } from "../testing/natsServer.js";
import { until } from "../testing/until.js";
import { LeaseClient, serveLeases, type LeaseEnd, type LeaseOpened } from "./busLeases.js";

// Stream leases over a real nats-server. The provider's side opens a lease with a stand-in for its gRPC
// stream (the seam: `open`); what is proven is the protocol: granted with the join, renewed, released,
// lapsed when its edge goes quiet, ended by the provider, lost when the provider goes away.
const verdict = natsServerVerdict();
if (verdict.message !== undefined && !verdict.run) console.warn(`skipped: ${verdict.message}`);

const JOIN = { subject: "p.a1.tick.spot.X", stream: "P_TICK", symbol: "BRK.B", epoch: 7, after: { seq: 41, sub: 2 } };

describe.skipIf(!verdict.run)("stream leases over the bus", () => {
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

  /** A stand-in for the provider's holder stream: cancelled or ended by the test. */
  const opener = () => {
    const opened: { cancelled: boolean; end(e: LeaseEnd): void }[] = [];
    const open = async (): Promise<LeaseOpened> => {
      let end: (e: LeaseEnd) => void = () => undefined;
      const entry = { cancelled: false, end: (e: LeaseEnd) => end(e) };
      opened.push(entry);
      return { ok: true, join: JOIN, bytes: Buffer.from("join"), ended: new Promise((resolve) => (end = resolve)), cancel: () => (entry.cancelled = true) };
    };
    return { opened, open };
  };
  const quiet = { ended: () => undefined, lost: () => undefined };

  it("grants a lease with its join, keeps it while renewed, and cancels it at once when released", async () => {
    const { opened, open } = opener();
    const serving = serveLeases(provider, "l1", open, 600);
    await provider.flush();
    const client = new LeaseClient(edge, "l1", 100);
    try {
      const reply = await client.open({ method: "/m", headers: { authorization: "Bearer t" }, body: Buffer.from("req") }, quiet);
      expect(reply).toMatchObject({ ok: true, join: JOIN });
      expect(reply.ok && Buffer.from(reply.bytes).toString()).toBe("join");
      // Renewed every 100 ms: alive well past its 600 ms lapse.
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      expect(opened[0]!.cancelled).toBe(false);
      client.release(reply.ok ? reply.id : "");
      await until(() => opened[0]!.cancelled, { what: "the released lease cancelled", timeoutMs: 2_000 });
    } finally {
      client.close();
      await serving.close();
    }
  });

  it("cancels a lease its edge stopped renewing (an edge killed), and tells the edge of a lease the provider ended", async () => {
    const { opened, open } = opener();
    const serving = serveLeases(provider, "l2", open, 300);
    await provider.flush();
    const renewing = new LeaseClient(edge, "l2", 100);
    const dead = new LeaseClient(edge, "l2", 60_000); // never renews: as good as killed
    try {
      const ends: LeaseEnd[] = [];
      await renewing.open({ method: "/m", headers: {}, body: new Uint8Array() }, { ended: (e) => ends.push(e), lost: () => undefined });
      await dead.open({ method: "/m", headers: {}, body: new Uint8Array() }, quiet);
      await until(() => opened[1]!.cancelled, { what: "the unrenewed lease lapsed", timeoutMs: 10_000 });
      expect(opened[0]!.cancelled).toBe(false);
      opened[0]!.end({ code: 7, message: "permission denied", details: Buffer.from([9]) });
      await until(() => ends.length === 1, { what: "the edge told of the end", timeoutMs: 10_000 });
      expect(ends[0]).toEqual({ code: 7, message: "permission denied", details: Buffer.from([9]) });
    } finally {
      renewing.close();
      dead.close();
      await serving.close();
    }
  });

  it("says a lease is lost when no provider answers its renewal, or one that does not know it (a restarted provider)", async () => {
    const first = opener();
    let serving = serveLeases(provider, "l3", first.open);
    await provider.flush();
    const client = new LeaseClient(edge, "l3", 100);
    try {
      let lost = 0;
      await client.open({ method: "/m", headers: {}, body: new Uint8Array() }, { ended: () => undefined, lost: () => lost++ });
      await serving.close(); // the provider is gone
      await until(() => lost === 1, { what: "the lease lost with no provider", timeoutMs: 10_000 });
      serving = serveLeases(provider, "l3", opener().open); // a new provider: knows no lease
      await provider.flush();
      await client.open({ method: "/m", headers: {}, body: new Uint8Array() }, { ended: () => undefined, lost: () => lost++ });
      await serving.close();
      serving = serveLeases(provider, "l3", opener().open);
      await provider.flush();
      await until(() => lost === 2, { what: "the lease unknown to a restarted provider lost", timeoutMs: 10_000 });
    } finally {
      client.close();
      await serving.close();
    }
  });

  it("refuses with the provider's status when it does not grant the lease", async () => {
    const serving = serveLeases(provider, "l4", async () => ({ ok: false, code: 5, message: "no such symbol", details: Buffer.from([1]) }));
    await provider.flush();
    const client = new LeaseClient(edge, "l4");
    try {
      expect(await client.open({ method: "/m", headers: {}, body: new Uint8Array() }, quiet)).toEqual({ ok: false, code: 5, message: "no such symbol", details: Buffer.from([1]) });
      expect(client.size).toBe(0);
    } finally {
      client.close();
      await serving.close();
    }
  });
});
