import { describe, expect, it } from "vitest";
import { StreamTicksResponse, type TickEvent } from "../../gen/ibprovider/v1/market_data_service.js";
import type { FeedEvent } from "../stream/feedEvents.js";
import { encodeBatch, type StreamRendering } from "./streamEncoding.js";

/** Renders numbers as ticks whose `last` is the number, counting how often data is encoded. */
function rendering(symbol: string, counter: { data: number }): StreamRendering<number, TickEvent> {
  return {
    encode: (events, writer) => StreamTicksResponse.encode({ events }, writer),
    key: symbol,
    data: (n, seq) => {
      counter.data++;
      return [{ event: { $case: "tick", value: { symbol, time: undefined, bid: "", bidSize: "", ask: "", askSize: "", last: String(n), lastSize: "", volume: "", marketDataType: 0, optionComputations: [] } }, sequence: String(seq) }];
    },
    control: (event) => ({ ...event, sequence: "0" }),
    recorded: (bytes) => bytes,
  };
}

const data = (n: number): FeedEvent<number> => ({ type: "data", value: n, seq: n });

describe("stream encoding", () => {
  it("encodes a shared event once and hands every subscriber the same bytes", () => {
    const counter = { data: 0 };
    const event = data(7);
    const a = encodeBatch([event], rendering("BTCUSDT", counter), true);
    const b = encodeBatch([event], rendering("BTCUSDT", counter), true);
    expect(counter.data).toBe(1);
    expect(a[0]).toBe(b[0]);
    // A client that asked with another symbol gets its own rendering.
    const c = encodeBatch([event], rendering("BTC", counter), true);
    expect(counter.data).toBe(2);
    expect(StreamTicksResponse.decode(c[0]!).events[0]).toMatchObject({ sequence: "7", event: { $case: "tick", value: { symbol: "BTC", last: "7" } } });
  });

  it("a batch is one message whose events decode in order, with statuses and heartbeats in between", () => {
    const batch: FeedEvent<number>[] = [data(1), { type: "status", status: { kind: "gap", atMs: 1_000, message: "reconnected" } }, data(2), { type: "heartbeat", atMs: 2_000, lastDataMs: 1_000 }];
    const messages = encodeBatch(batch, rendering("AAPL", { data: 0 }), true);
    expect(messages).toHaveLength(1);
    const events = StreamTicksResponse.decode(messages[0]!).events;
    expect(events.map((e) => [e.event?.$case, e.sequence])).toEqual([["tick", "1"], ["status", "0"], ["tick", "2"], ["heartbeat", "0"]]);
  });

  it("splits a large batch into messages under the size bound, losing nothing", () => {
    const batch = Array.from({ length: 1_000 }, (_, i) => data(i + 1));
    const messages = encodeBatch(batch, rendering("AAPL", { data: 0 }), true, 4_096);
    expect(messages.length).toBeGreaterThan(1);
    // Events are encoded in groups: a message can pass the bound by at most one group.
    for (const m of messages) expect(m.length).toBeLessThanOrEqual(4_096 + 64 * 40);
    const seqs = messages.flatMap((m) => StreamTicksResponse.decode(m).events.map((e) => Number(e.sequence)));
    expect(seqs).toEqual(batch.map((_, i) => i + 1));
  });

  it("a second subscriber's batch reuses the bytes the first one encoded, in whatever grouping", () => {
    const counter = { data: 0 };
    const events = Array.from({ length: 10 }, (_, i) => data(i + 1));
    const first = encodeBatch(events, rendering("AAPL", counter), true);
    expect(counter.data).toBe(10);
    // Another subscriber was behind by a different amount: its batch starts later.
    const second = encodeBatch(events.slice(4), rendering("AAPL", counter), true);
    expect(counter.data).toBe(10);
    expect(StreamTicksResponse.decode(second[0]!).events.map((e) => e.sequence)).toEqual(["5", "6", "7", "8", "9", "10"]);
    expect(Buffer.concat(first).subarray(-second[0]!.length).equals(second[0]!)).toBe(true);
  });

  it("does not memoise events no other subscriber reads", () => {
    const counter = { data: 0 };
    const event = data(3);
    encodeBatch([event], rendering("AAPL", counter), false);
    encodeBatch([event], rendering("AAPL", counter), false);
    expect(counter.data).toBe(2);
  });
});
