import type { MsgHdrs } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { createLogger } from "../log/logger.js";
import type { RecordedEvent } from "../stream/feedJournal.js";
import { captureLog } from "../testing/logCapture.js";
import { until } from "../testing/until.js";
import { BusPublisher } from "./busPublisher.js";
import { accountToken } from "./busSubjects.js";
import type { PublishOutcome } from "./jetStreamAcks.js";

/** A bus that answers only when told to: what was sent, and the answers still owed. */
class HeldBus {
  readonly sent: { subject: string; msgId: string; done: (o: PublishOutcome) => void }[] = [];
  private answered = 0;

  publish(subject: string, _payload: Uint8Array, headers: MsgHdrs, done: (o: PublishOutcome) => void): void {
    this.sent.push({ subject, msgId: headers.get("Nats-Msg-Id"), done });
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
  it("with the bus not answering, holds at most maxInFlight publishes and maxQueued events, sheds the oldest, counts and logs it", async () => {
    const bus = new HeldBus();
    const log = captureLog();
    const publisher = new BusPublisher(bus, directory, settings, createLogger("info", { destination: log.sink, format: "json" }));
    const tap = publisher.open({ key: "tick/1", kind: "tick", symbol: "BTCUSDT", epoch: 7 });
    for (let i = 0; i < 50; i++) tap.events(rows(1 + i * 100, 100));
    await until(() => bus.sent.length === 100, { what: "the first 100 publishes" });
    // 5,000 queued in one turn: the oldest 4,000 shed, then 100 sent.
    expect(publisher.stats()).toMatchObject({ inFlight: 100, queued: 900, shed: 4_000 });
    expect(log.lines.some((l) => String(l.msg).includes("the oldest events are shed"))).toBe(true);

    // Answered: what was kept goes out, the newest last, nothing beyond the bound.
    while (publisher.stats().queued > 0 || publisher.stats().inFlight > 0) {
      bus.answerAll(stored);
      await until(() => publisher.stats().inFlight > 0 || publisher.stats().queued === 0, { what: "the next publishes" });
    }
    expect(bus.sent).toHaveLength(1_000);
    expect(bus.sent.at(-1)!.msgId).toBe("tick/1:7:5000:0");
    expect(bus.sent[0]!.subject).toMatch(/^ibp\.a[0-9a-f]{12}\.tick\.spot\.BTCUSDT$/);
    expect(bus.sent[0]!.msgId).toBe("tick/1:7:4001:0");
    expect(publisher.stats()).toMatchObject({ published: 1_000, shed: 4_000 });
  });

  it("retries a failed publish with the same Nats-Msg-Id, after a pause, in its order", async () => {
    const bus = new HeldBus();
    const publisher = new BusPublisher(bus, directory, settings, createLogger("silent"));
    publisher.open({ key: "tick/1", kind: "tick", symbol: "BTCUSDT", epoch: 7 }).events(rows(1, 3));
    await until(() => bus.sent.length === 3, { what: "3 publishes" });
    bus.answerAll({ ok: false, error: "no acknowledgement within 2000 ms" });
    await until(() => bus.sent.length === 6, { what: "3 retries" });
    expect(bus.sent.slice(3).map((s) => s.msgId)).toEqual(["tick/1:7:1:0", "tick/1:7:2:0", "tick/1:7:3:0"]);
    bus.answerAll({ ok: true, duplicate: true, streamSeq: 1 });
    expect(publisher.stats()).toMatchObject({ failures: 3, published: 3, duplicates: 3, queued: 0, inFlight: 0 });
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
    expect(bus.sent[0]!.msgId).toBe(`account/${accountToken("DU1")}:3:1:0`);
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
});
