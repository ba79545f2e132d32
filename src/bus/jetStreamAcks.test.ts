import { jetstreamManager } from "@nats-io/jetstream";
import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { natsServerVerdict, startNatsServer, type NatsServer } from "../testing/natsServer.js";
import { JetStreamAcks, type PublishOutcome } from "./jetStreamAcks.js";

const verdict = natsServerVerdict();
if (verdict.message !== undefined && !verdict.run) console.warn(`skipped: ${verdict.message}`);

describe.skipIf(!verdict.run)("JetStream acknowledgements matched on one reply subscription", () => {
  let nats: NatsServer;
  let nc: NatsConnection;
  let acks: JetStreamAcks;

  beforeAll(async () => {
    if (verdict.message !== undefined) throw new Error(verdict.message);
    nats = await startNatsServer();
    nc = await connect({ servers: nats.url });
    await (await jetstreamManager(nc)).streams.add({ name: "ACKS", subjects: ["acks.>"] });
    acks = new JetStreamAcks(nc, 1_000);
  });

  afterAll(async () => {
    acks?.close();
    await nc?.close();
    await nats?.close();
  });

  const publish = (subject: string, msgId: string) =>
    new Promise<PublishOutcome>((resolve) => {
      const h = headers();
      h.set("Nats-Msg-Id", msgId);
      acks.publish(subject, new Uint8Array([1, 2, 3]), h, resolve);
    });

  it("answers each publish with its stream sequence, a repeated Nats-Msg-Id as a duplicate of the stored one", async () => {
    const outcomes = await Promise.all(Array.from({ length: 500 }, (_, i) => publish("acks.a", `m${i}`)));
    expect(outcomes.map((o) => (o.ok ? o.streamSeq : -1))).toEqual(outcomes.map((_, i) => i + 1));
    expect(await publish("acks.a", "m7")).toEqual({ ok: true, duplicate: true, streamSeq: 8 });
    expect(acks.inFlight).toBe(0);
  });

  it("says so when no stream takes the subject", async () => {
    expect(await publish("elsewhere.a", "x")).toEqual({ ok: false, error: expect.stringContaining("no stream takes the subject") });
  });

  it("fails what is pending at once when told the connection is gone", async () => {
    const pending = publish("acks.b", "late");
    acks.failAll("the bus connection was lost");
    expect(await pending).toEqual({ ok: false, error: "the bus connection was lost" });
  });
});
