import type { MsgHdrs } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { createLogger } from "../log/logger.js";
import type { RecordedEvent } from "../stream/feedJournal.js";
import { captureLog } from "../testing/logCapture.js";
import { until } from "../testing/until.js";
import { BusPublisher } from "./busPublisher.js";
import { accountToken } from "./busSubjects.js";
import { JetStreamAcks, type PublishOutcome } from "./jetStreamAcks.js";

/** A bus that answers only when told to: what was sent, and the answers still owed. */
class HeldBus {
  readonly sent: { subject: string; msgId: string; rows: string; shed: string; done: (o: PublishOutcome) => void }[] = [];
  private answered = 0;

  publish(subject: string, _payload: Uint8Array, headers: MsgHdrs, done: (o: PublishOutcome) => void): void {
    this.sent.push({ subject, msgId: headers.get("Nats-Msg-Id"), rows: headers.get("Ibp-Rows"), shed: headers.get("Ibp-Shed"), done });
  }

  /** Answers every publish not answered yet. */
  answerAll(outcome: PublishOutcome): void {
    const owed = this.sent.slice(this.answered);
    this.answered = this.sent.length;
    for (const s of owed) s.done(outcome);
  }
}

const rows = (from: number, count: number): RecordedEvent[] =>
  Array.from({ length: count }, (_, i) => ({ seq: from + i, sub: 0, timeMs: 0, kind: "data" as const, bytes: new Uint8Array([1]) }));

const directory = { account: () => "DU1", feed: () => ({ market: "spot", symbol: "BTCUSDT" }) };
const settings = { subjectPrefix: "ibp", maxQueued: 1_000, maxInFlight: 100 };
const stored: PublishOutcome = { ok: true, duplicate: false, streamSeq: 1 };

describe("the bus publisher", () => {
  it("sends a flush of a feed as one message, holds at most maxInFlight messages and maxQueued events, sheds the oldest batches, counts and logs it", async () => {
    const bus = new HeldBus();
    const log = captureLog();
    const publisher = new BusPublisher(bus, directory, { ...settings, maxInFlight: 3 }, createLogger("info", { destination: log.sink, format: "json" }));
    const tap = publisher.open({ key: "tick/1", kind: "tick", symbol: "BTCUSDT", epoch: 7 });
    // 50 flushes of 100 events in one turn: 5,000 queued, the oldest 4,000 (40 batches) shed, then 3 sent.
    for (let i = 0; i < 50; i++) tap.events(rows(1 + i * 100, 100));
    await until(() => bus.sent.length === 3, { what: "the first 3 messages" });
    expect(publisher.stats()).toMatchObject({ inFlight: 3, queued: 700, shed: 4_000 });
    expect(log.lines.some((l) => String(l.msg).includes("the oldest events are shed"))).toBe(true);

    // Answered: what was kept goes out, the newest last, nothing beyond the bound.
    while (publisher.stats().queued > 0 || publisher.stats().inFlight > 0) {
      bus.answerAll(stored);
      await until(() => publisher.stats().inFlight > 0 || publisher.stats().queued === 0, { what: "the next messages" });
    }
    expect(bus.sent).toHaveLength(10);
    expect(bus.sent[0]!.subject).toMatch(/^ibp\.a[0-9a-f]{12}\.tick\.spot\.BTCUSDT$/);
    expect(bus.sent[0]!.msgId).toBe("tick/1:7:4001:0+100");
    expect(bus.sent.at(-1)!.msgId).toBe("tick/1:7:4901:0+100");
    expect(bus.sent[0]!.rows).toBe(`4001:0:d${"d".repeat(99)}`);
    // The first message after the shed rows says which they were; the next ones say nothing more.
    expect(bus.sent.map((m) => m.shed)).toEqual(["1:0-4000:0", ...new Array<string>(9).fill("")]);
    expect(publisher.stats()).toMatchObject({ published: 1_000, shed: 4_000 });
  });

  it("retries a failed message with the same Nats-Msg-Id, after a pause, in its order", async () => {
    const bus = new HeldBus();
    const publisher = new BusPublisher(bus, directory, settings, createLogger("silent"));
    const tap = publisher.open({ key: "tick/1", kind: "tick", symbol: "BTCUSDT", epoch: 7 });
    tap.events(rows(1, 3));
    tap.events(rows(4, 2));
    await until(() => bus.sent.length === 2, { what: "2 messages" });
    bus.answerAll({ ok: false, error: "no acknowledgement within 2000 ms" });
    await until(() => bus.sent.length === 4, { what: "2 retries" });
    expect(bus.sent.slice(2).map((s) => s.msgId)).toEqual(["tick/1:7:1:0+3", "tick/1:7:4:0+2"]);
    bus.answerAll({ ok: true, duplicate: true, streamSeq: 1 });
    expect(publisher.stats()).toMatchObject({ failures: 2, published: 5, duplicates: 5, queued: 0, inFlight: 0 });
  });

  it("names an account feed by its own account, not by the account active when it is first published (they differ after a change of login)", async () => {
    const bus = new HeldBus();
    let active = "DU1";
    const publisher = new BusPublisher(bus, { account: () => active, feed: () => undefined }, settings, createLogger("silent"));
    const tap = publisher.open({ key: "account/DU1", kind: "account", symbol: "", epoch: 3 });
    active = "DU2";
    tap.events(rows(1, 1));
    await until(() => bus.sent.length === 1, { what: "the publish" });
    expect(bus.sent[0]!.subject).toBe(`ibp.${accountToken("DU1")}.account`);
    expect(bus.sent[0]!.msgId).toBe(`account/${accountToken("DU1")}:3:1:0+1`);
  });

  it("closes as soon as nothing is left to publish, even when what was left could not be named (shed as unroutable)", async () => {
    const bus = new HeldBus();
    const publisher = new BusPublisher(bus, { account: () => "DU1", feed: () => undefined }, settings, createLogger("silent"));
    publisher.open({ key: "tick/9", kind: "tick", symbol: "GONE", epoch: 1 }).events(rows(1, 5));
    const started = Date.now();
    await publisher.close(10_000);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(publisher.stats()).toMatchObject({ unroutable: 5, queued: 0 });
    expect(bus.sent).toHaveLength(0);
  });

  it("sheds a message the bus can never take (larger than its max_payload) instead of retrying it for ever ahead of every other feed's", async () => {
    // A connection as nats.js's: a message over max_payload is refused at once, by a throw.
    const published: string[] = [];
    const nc = {
      subscribe: () => ({ unsubscribe: () => undefined }),
      publish(_subject: string, payload: Uint8Array, opts: { reply: string; headers: MsgHdrs }) {
        if (payload.length > 100) throw new Error("'payload' max_payload size exceeded");
        published.push(opts.headers.get("Nats-Msg-Id"));
        answer(opts.reply);
      },
    };
    const acks = new JetStreamAcks(nc as never, 2_000);
    const answer = (reply: string) => queueMicrotask(() => (acks as unknown as { pending: Map<string, { done(o: PublishOutcome): void }> }).pending.get(reply.slice(reply.lastIndexOf(".") + 1))?.done(stored));
    const publisher = new BusPublisher(acks, directory, { ...settings, maxBatchBytes: 50 }, createLogger("silent"));
    const big = publisher.open({ key: "book/1/10", kind: "orderBook", symbol: "MSFT", epoch: 1 });
    const ticks = publisher.open({ key: "tick/2", kind: "tick", symbol: "AAPL", epoch: 1 });
    big.events([{ seq: 1, sub: 0, timeMs: 0, kind: "data", bytes: new Uint8Array(500) }]);
    ticks.events(rows(1, 3));
    await until(() => published.length === 1, { what: "the ticks published behind the message too large" });
    expect(published).toEqual(["tick/2:1:1:0+3"]);
    await until(() => publisher.stats().inFlight === 0 && publisher.stats().queued === 0, { what: "nothing left to publish" });
    expect(publisher.stats()).toMatchObject({ published: 3, tooLarge: 1, failures: 0 });
    acks.close();
  });

  it("holds at most maxQueued events in flight too (a message is up to 1,000 of them): a slow bus does not hold maxInFlight full batches beyond the bound", async () => {
    const bus = new HeldBus();
    const publisher = new BusPublisher(bus, directory, { ...settings, maxQueued: 1_000, maxInFlight: 100 }, createLogger("silent"));
    const tap = publisher.open({ key: "tick/1", kind: "tick", symbol: "BTCUSDT", epoch: 7 });
    for (let i = 0; i < 5; i++) {
      tap.events(rows(1 + i * 1_000, 1_000));
      await new Promise((resolve) => setImmediate(resolve)); // a turn: the publisher's drain runs
    }
    await until(() => publisher.stats().queued + publisher.stats().shed === 4_000, { what: "the flushes queued or shed" });
    // The first batch in flight, unanswered; the newest waits; the ones between are shed.
    expect(bus.sent).toHaveLength(1);
    expect(publisher.stats()).toMatchObject({ inFlight: 1, queued: 1_000, shed: 3_000 });
    bus.answerAll(stored);
    await until(() => bus.sent.length === 2, { what: "the newest batch sent once the first is answered" });
    expect(bus.sent[1]!.msgId).toBe("tick/1:7:4001:0+1000");
  });
});
