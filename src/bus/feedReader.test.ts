import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { natsServerVerdict, startNatsServer, type NatsServer } from "../testing/natsServer.js";
import { findStart, readFeed, type FeedMessage } from "./feedReader.js";
import { dataRows, publishRows } from "./testing/busMessages.js";

// A feed's rows found and read back from a real JetStream stream, among another feed's messages: where a
// read after a position starts (the first message holding a row after it), and what it reads from there.
const verdict = natsServerVerdict();
if (verdict.message !== undefined && !verdict.run) console.warn(`skipped: ${verdict.message}`);

const STREAM = "FR_TICK";
const SUBJECT = "fr.a1.tick.spot.X";
const OTHER = "fr.a1.tick.spot.Y";

describe.skipIf(!verdict.run)("reading a feed's rows back from JetStream", () => {
  let server: NatsServer;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let js: JetStreamClient;
  /** The stream sequence of each of the feed's messages, by its first row's seq. */
  const seqOf = new Map<number, number>();

  /** A message of `rows` data rows from `first`. */
  const publish = async (subject: string, epoch: number, first: number, rows: number) => {
    const seq = await publishRows(js, subject, epoch, dataRows(first, rows));
    if (subject === SUBJECT) seqOf.set(first, seq);
  };

  beforeAll(async () => {
    if (verdict.message !== undefined) throw new Error(verdict.message);
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
    jsm = await jetstreamManager(nc);
    js = jetstream(nc);
    await jsm.streams.add({ name: STREAM, subjects: ["fr.*.tick.>"], allow_direct: true });
    // Epoch 7: rows 1-30 in messages of 5, another feed's messages between them; then epoch 9 from 31.
    for (let first = 1; first <= 30; first += 5) {
      await publish(SUBJECT, 7, first, 5);
      await publish(OTHER, 7, first, 3);
    }
    await publish(SUBJECT, 9, 31, 5);
  }, 20_000);

  afterAll(async () => {
    await nc?.close();
    await server?.close();
  });

  it("starts at the first message holding a row after the position, whatever lies between", async () => {
    expect(await findStart(jsm, STREAM, SUBJECT, { epoch: 7, seq: 0, sub: 0 })).toEqual({ streamSeq: seqOf.get(1), first: { epoch: 7, seq: 1, sub: 0 }, oldest: true });
    expect(await findStart(jsm, STREAM, SUBJECT, { epoch: 7, seq: 12, sub: 0 })).toEqual({ streamSeq: seqOf.get(11), first: { epoch: 7, seq: 11, sub: 0 }, oldest: false });
    expect(await findStart(jsm, STREAM, SUBJECT, { epoch: 7, seq: 15, sub: 0 })).toEqual({ streamSeq: seqOf.get(16), first: { epoch: 7, seq: 16, sub: 0 }, oldest: false });
    // The end of epoch 7: the next epoch's first message.
    expect(await findStart(jsm, STREAM, SUBJECT, { epoch: 7, seq: 30, sub: 0 })).toEqual({ streamSeq: seqOf.get(31), first: { epoch: 9, seq: 31, sub: 0 }, oldest: false });
  });

  it("starts after everything stored when nothing after the position is stored yet (the next message comes later)", async () => {
    const info = await jsm.streams.info(STREAM);
    expect(await findStart(jsm, STREAM, SUBJECT, { epoch: 9, seq: 35, sub: 0 })).toEqual({ streamSeq: seqOf.get(31)! + 1, first: undefined, oldest: false });
    expect(await findStart(jsm, STREAM, "fr.a1.tick.spot.NEW", { epoch: 1, seq: 0, sub: 0 })).toEqual({ streamSeq: info.state.last_seq + 1, first: undefined, oldest: false });
  });

  it("reads the feed's messages from there, only its own, then live", async () => {
    const abort = new AbortController();
    const got: FeedMessage[] = [];
    const reading = (async () => {
      for await (const m of readFeed(js, STREAM, SUBJECT, seqOf.get(26)!, abort.signal)) {
        got.push(m);
        if (got.length === 3) abort.abort();
      }
    })();
    await publish(SUBJECT, 9, 36, 2);
    await reading;
    expect(got.map((m) => [m.epoch, m.rows.map((r) => r.seq)])).toEqual([
      [7, [26, 27, 28, 29, 30]],
      [9, [31, 32, 33, 34, 35]],
      [9, [36, 37]],
    ]);
    expect(got[2]!.pending).toBe(0);
  });
});
