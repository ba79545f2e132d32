import { describe, expect, it } from "vitest";
import { StreamTicksResponse, type TickEvent } from "../../gen/ibprovider/v1/market_data_service.js";
import type { FeedEvent } from "../ib/ibAdapter.js";
import { encodeBatch, type StreamRendering } from "./streamEncoding.js";

/** Renders numbers as ticks whose `last` is the number, counting how often data is encoded. */
function rendering(symbol: string, counter: { data: number }): StreamRendering<number, TickEvent> {
  return {
    encode: (events) => StreamTicksResponse.encode({ events }).finish(),
    key: symbol,
    data: (n, seq) => {
      counter.data++;
      return [{ event: { $case: "tick", value: { symbol, time: undefined, bid: "", bidSize: "", ask: "", askSize: "", last: String(n), lastSize: "", volume: "", marketDataType: 0 } }, sequence: String(seq) }];
    },
    control: (event) => ({ ...event, sequence: "0" }),
  };
}

const data = (n: number): FeedEvent<number> => ({ type: "data", value: n, seq: n });

describe("stream encoding", () => {
  it("encodes a shared event once and hands every subscriber the same bytes", () => {
    const counter = { data: 0 };
    const event = data(7);
    const a = [...encodeBatch([event], rendering("BTCUSDT", counter))];
    const b = [...encodeBatch([event], rendering("BTCUSDT", counter))];
    expect(counter.data).toBe(1);
    expect(a[0]).toBe(b[0]);
    // A client that asked with another symbol gets its own rendering.
    const c = [...encodeBatch([event], rendering("BTC", counter))];
    expect(counter.data).toBe(2);
    expect(StreamTicksResponse.decode(c[0]!).events[0]).toMatchObject({ sequence: "7", event: { $case: "tick", value: { symbol: "BTC", last: "7" } } });
  });

  it("a batch is one message whose events decode in order, with statuses and heartbeats in between", () => {
    const batch: FeedEvent<number>[] = [data(1), { type: "status", status: { kind: "gap", atMs: 1_000, message: "reconnected" } }, data(2), { type: "heartbeat", atMs: 2_000, lastDataMs: 1_000 }];
    const messages = [...encodeBatch(batch, rendering("AAPL", { data: 0 }))];
    expect(messages).toHaveLength(1);
    const events = StreamTicksResponse.decode(messages[0]!).events;
    expect(events.map((e) => [e.event?.$case, e.sequence])).toEqual([["tick", "1"], ["status", "0"], ["tick", "2"], ["heartbeat", "0"]]);
  });

  it("splits a large batch into messages under the size bound, losing nothing", () => {
    const batch = Array.from({ length: 1_000 }, (_, i) => data(i + 1));
    const messages = [...encodeBatch(batch, rendering("AAPL", { data: 0 }), 4_096)];
    expect(messages.length).toBeGreaterThan(1);
    for (const m of messages) expect(m.length).toBeLessThanOrEqual(4_096);
    const seqs = messages.flatMap((m) => StreamTicksResponse.decode(m).events.map((e) => Number(e.sequence)));
    expect(seqs).toEqual(batch.map((_, i) => i + 1));
  });
});
