import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { natsServerVerdict, startNatsServer, type NatsServer } from "../testing/natsServer.js";
import { until } from "../testing/until.js";
import type { FeedMessage } from "./feedReader.js";
import { FeedTails } from "./feedTails.js";
import { dataRows, publishRows } from "./testing/busMessages.js";

// A feed's readers at an edge share one JetStream consumer (the tail); one that starts before the tail's
// messages reads its own until it reaches them, then joins the tail. Real nats-server.
const verdict = natsServerVerdict();
if (verdict.message !== undefined && !verdict.run) console.warn(`skipped: ${verdict.message}`);

const STREAM = "FT_TICK";
const SUBJECT = "ft.a1.tick.spot.X";

describe.skipIf(!verdict.run)("feed tails: one consumer per feed for every reader at an edge", () => {
  let server: NatsServer;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let js: JetStreamClient;
  let next = 1;

  const publish = async (count: number) => {
    const seqs: number[] = [];
    for (let i = 0; i < count; i++, next++) seqs.push(await publishRows(js, SUBJECT, 1, dataRows(next, 1)));
    return seqs;
  };

  /** Reads until `want` messages or the abort; returns what it read. */
  const reader = (tails: FeedTails, fromSeq: number, want: number) => {
    const abort = new AbortController();
    const got: FeedMessage[] = [];
    const done = (async () => {
      for await (const m of tails.read(STREAM, SUBJECT, fromSeq, abort.signal)) {
        got.push(m);
        if (got.length === want) abort.abort();
      }
    })();
    return { got, done, abort };
  };

  beforeAll(async () => {
    if (verdict.message !== undefined) throw new Error(verdict.message);
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
    jsm = await jetstreamManager(nc);
    js = jetstream(nc);
    await jsm.streams.add({ name: STREAM, subjects: ["ft.*.tick.>"] });
  }, 20_000);

  afterAll(async () => {
    await nc?.close();
    await server?.close();
  });

  it("serves every live reader of a feed from one consumer, each message once, in order", async () => {
    const tails = new FeedTails(js, jsm);
    try {
      const start = (await jsm.streams.info(STREAM)).state.last_seq + 1;
      const readers = Array.from({ length: 20 }, () => reader(tails, start, 30));
      await until(async () => (await jsm.consumers.list(STREAM).next()).length === 1, { what: "the tail's consumer", timeoutMs: 5_000 });
      const published = await publish(30);
      await Promise.all(readers.map((r) => r.done));
      for (const r of readers) expect(r.got.map((m) => m.streamSeq)).toEqual(published);
      expect((await jsm.consumers.list(STREAM).next()).length).toBeLessThanOrEqual(1);
    } finally {
      tails.close();
    }
  });

  it("lets a reader that starts earlier catch up on its own consumer, then join the tail: nothing missed, nothing twice", async () => {
    const tails = new FeedTails(js, jsm);
    try {
      const older = await publish(10);
      const live = reader(tails, older.at(-1)! + 1, 15);
      await until(async () => (await jsm.consumers.list(STREAM).next()).length === 1, { what: "the tail's consumer", timeoutMs: 5_000 });
      const resumed = reader(tails, older[0]!, 25);
      const newer = await publish(15);
      await Promise.all([live.done, resumed.done]);
      expect(live.got.map((m) => m.streamSeq)).toEqual(newer);
      expect(resumed.got.map((m) => m.streamSeq)).toEqual([...older, ...newer]);
      // The catching-up reader's own consumer is gone once it joined the tail.
      await until(async () => (await jsm.consumers.list(STREAM).next()).length <= 1, { what: "the reader's own consumer deleted", timeoutMs: 5_000 });
    } finally {
      tails.close();
    }
  });
});
