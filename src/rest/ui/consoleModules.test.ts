import { describe, expect, it } from "vitest";
import { clockTime, durationSeconds, enumLabel, formatBytes, formatDuration, maskAccount } from "./static/format.js";
import { OrderBookLadder } from "./static/orderBookLadder.js";
import { parseMetrics, total, totalsBy } from "./static/prometheusText.js";
import { SseParser } from "./static/sseParser.js";

// The console's pure browser modules, run here in Node as the browser loads them (plain ES modules).

describe("SseParser (the console's streams, read from fetch)", () => {
  it("yields the events of text cut anywhere, as the bridge frames them", () => {
    const stream = 'data: {"a":1}\n\nevent: error\ndata: {"code":16}\n\n: comment\r\ndata: x\r\ndata:y\r\n\r\n';
    for (const cut of [1, 2, 3, 7, 13, stream.length]) {
      const parser = new SseParser();
      const events = [];
      for (let i = 0; i < stream.length; i += cut) events.push(...parser.push(stream.slice(i, i + cut)));
      expect(events, `chunks of ${cut}`).toEqual([
        { event: "message", data: '{"a":1}' },
        { event: "error", data: '{"code":16}' },
        { event: "message", data: "x\ny" },
      ]);
    }
  });

  it("keeps an unfinished event until its blank line comes", () => {
    const parser = new SseParser();
    expect(parser.push("data: 1\n")).toEqual([]);
    expect(parser.push("\n")).toEqual([{ event: "message", data: "1" }]);
  });
});

describe("OrderBookLadder (the depth ladder)", () => {
  it("starts from a snapshot, applies deltas, removes a level on volume 0 and sorts each side from its best price", () => {
    const book = new OrderBookLadder();
    book.apply({ isSnapshot: true, isConsistent: true, sequence: "1", bids: [{ price: "99.5", volume: "1" }, { price: "100", volume: "2" }], asks: [{ price: "101", volume: "3" }, { price: "100.5", volume: "4" }] });
    book.apply({ sequence: "2", isConsistent: true, bids: [{ price: "100", volume: "0" }, { price: "99.75", volume: "5" }], asks: [] });
    expect(book.top(10)).toEqual({
      asks: [{ price: "100.5", volume: "4" }, { price: "101", volume: "3" }],
      bids: [{ price: "99.75", volume: "5" }, { price: "99.5", volume: "1" }],
    });
    expect([book.sequence, book.consistent, book.updates]).toEqual(["2", true, 2]);
    expect(book.top(1).bids).toEqual([{ price: "99.75", volume: "5" }]);
    book.apply({ isSnapshot: true, isConsistent: false, sequence: "7", bids: [], asks: [] });
    expect(book.top(10)).toEqual({ asks: [], bids: [] });
    expect(book.consistent).toBe(false);
  });
});

describe("parseMetrics (the overview reads /api/metrics)", () => {
  const text = [
    "# HELP ibprovider_ib_lines_held IB lines held",
    "# TYPE ibprovider_ib_lines_held gauge",
    'ibprovider_ib_lines_held{client="service",kind="marketDataLines"} 2',
    'ibprovider_ib_lines_held{client="default",kind="depth"} 1',
    'ibprovider_ib_lines_held{client="service",kind="depth"} 1',
    'odd_label{path="a\\"b\\\\c"} 1.5e3',
    'ibprovider_grpc_request_duration_seconds_bucket{le="+Inf",code="OK"} 4',
    "ibprovider_ib_historical_budget 60",
  ].join("\n");
  const samples = parseMetrics(text);

  it("sums a metric overall and by a label, and says undefined (not 0) for a metric the service does not export", () => {
    expect(total(samples, "ibprovider_ib_lines_held")).toBe(4);
    expect([...totalsBy(samples, "ibprovider_ib_lines_held", "kind")]).toEqual([["marketDataLines", 2], ["depth", 2]]);
    expect(total(samples, "ibprovider_ib_lines_held", { client: "default" })).toBe(1);
    expect(total(samples, "ibprovider_ib_historical_budget")).toBe(60);
    expect(total(samples, "ibprovider_ib_line_limit")).toBeUndefined();
  });

  it("reads escaped label values and +Inf", () => {
    expect(samples.find((s) => s.name === "odd_label")).toEqual({ name: "odd_label", labels: { path: 'a"b\\c' }, value: 1500 });
    expect(samples.find((s) => s.name.endsWith("_bucket"))?.labels.le).toBe("+Inf");
  });
});

describe("format (what the console writes)", () => {
  it("never shows a whole account id", () => {
    expect(maskAccount("DU1234567")).toBe("DU•••567");
    expect(maskAccount("U123")).toBe("•••");
    expect(maskAccount("")).toBe("");
  });

  it("writes durations, sizes, times and enum names briefly", () => {
    expect(durationSeconds("3.878s")).toBe(3.878);
    expect(durationSeconds("soon")).toBeUndefined();
    expect([formatDuration(4.2), formatDuration(125), formatDuration(3_700), formatDuration(93_784)]).toEqual(["4 s", "2 m 05 s", "1 h 01 m", "1 d 02:03:04"]);
    expect([formatBytes(512), formatBytes(1536), formatBytes(5 * 1024 ** 3)]).toEqual(["512 B", "1.5 KiB", "5.0 GiB"]);
    expect(clockTime("2026-12-03T17:23:35.917Z")).toBe("17:23:35");
    expect(clockTime(undefined)).toBe("—");
    expect(enumLabel("SUBSCRIPTION_KIND_ORDER_BOOK", "SUBSCRIPTION_KIND_")).toBe("order book");
  });
});
