import { describe, expect, it } from "vitest";
import { recordingCodec } from "../grpc/streamRenderings.js";
import type { AccountUpdate } from "../ib/ibAdapter.js";
import type { RecordedEvent } from "../stream/feedJournal.js";
import { FeedRecorder } from "../stream/feedRecorder.js";
import { tappedJournalStore } from "../stream/feedTap.js";
import { MemoryJournalStore } from "../stream/testing/memoryJournal.js";
import { batchBytesFor, batchesOf, framedEntries, MAX_BATCH_BYTES, MAX_BATCH_ROWS, payloadOf, placesOf, rowsHeader, rowsOf, timesHeader, timesOf } from "./busBatch.js";

/** A framed `events` entry (field 1, length-delimited) around `n` bytes. */
const framed = (n: number, fill = 7): Uint8Array => {
  const length: number[] = [];
  for (let v = n; ; v = Math.floor(v / 128)) {
    length.push((v % 128) | (v >= 128 ? 0x80 : 0));
    if (v < 128) break;
  }
  return Uint8Array.from([0x0a, ...length, ...new Array<number>(n).fill(fill)]);
};
const T0 = 1_700_000_000_000;
const row = (seq: number, sub: number, kind: RecordedEvent["kind"], bytes = framed(3)): RecordedEvent => ({ seq, sub, kind, timeMs: 0, bytes });

describe("a feed's rows in one bus message", () => {
  it("carries every row's recording time, as steps from the row before (a status may be stamped a little earlier)", () => {
    const times = [T0, T0, T0 + 3, T0 + 2, T0 + 40];
    const rows = times.map((timeMs, i) => ({ ...row(i + 1, 0, "data"), timeMs }));
    expect(timesHeader(rows)).toBe("0,3,-1,38");
    expect(timesOf(T0, timesHeader(rows), rows.length)).toEqual(times);
    expect(timesHeader(rows.slice(0, 1))).toBe("");
    expect(timesOf(T0, "", 3)).toEqual([T0, T0, T0]);
  });

  it("names the rows' places in a letter each when they follow one another, explicitly when they do not", () => {
    const rows = [row(41, 2, "status"), row(42, 0, "data"), row(43, 0, "data"), row(43, 1, "status"), row(43, 2, "snapshot"), row(43, 3, "snapshot"), row(50, 0, "data"), row(50, 2, "status")];
    const header = rowsHeader(rows);
    expect(header).toBe("41:2:sddsnn(50:0:d)(50:2:s)");
    expect(placesOf(header)).toEqual(rows.map(({ seq, sub, kind }) => ({ seq, sub, kind, entries: 1 })));
    expect(() => placesOf("41:2:sx")).toThrow(/not an Ibp-Rows header/);
  });

  it("carries the rows' bytes one after the other, cut back into the same rows", () => {
    const rows = [row(1, 0, "data", framed(3, 1)), row(2, 0, "data", framed(200, 2)), row(2, 1, "status", framed(0))];
    const entries = framedEntries(payloadOf(rows));
    expect(entries.map((e) => Buffer.from(e))).toEqual(rows.map((r) => Buffer.from(r.bytes)));
    expect(() => framedEntries(payloadOf(rows).subarray(0, 10))).toThrow(/truncated/);
  });

  it(`cuts a flush into batches of at most ${MAX_BATCH_ROWS} rows and ${MAX_BATCH_BYTES / 1024} KiB`, () => {
    const many = Array.from({ length: 2_500 }, (_, i) => row(i + 1, 0, "data"));
    expect(batchesOf(many).map((b) => b.length)).toEqual([1_000, 1_000, 500]);
    const big = Array.from({ length: 5 }, (_, i) => row(i + 1, 0, "data", framed(100_000)));
    expect(batchesOf(big).map((b) => b.length)).toEqual([2, 2, 1]);
    expect(batchesOf([])).toEqual([]);
    // A server with smaller messages: smaller batches (its max_payload less room for the headers).
    expect(batchesOf(big, batchBytesFor(200 * 1024)).map((b) => b.length)).toEqual([1, 1, 1, 1, 1]);
    expect(batchBytesFor(1024 * 1024)).toBe(MAX_BATCH_BYTES);
  });
});

describe("every kind of recorded row in a bus message", () => {
  it("cuts an account update carried as several events (the summary and each currency's asset) back into its row", () => {
    const codec = recordingCodec<AccountUpdate>("account");
    const values: AccountUpdate = {
      type: "values",
      values: { account: "DU1", base: new Map([["NetLiquidation", "100"]]), baseCurrency: "USD", byCurrency: new Map([["USD", new Map([["TotalCashBalance", "50"]])], ["EUR", new Map([["TotalCashBalance", "7"]])]]) },
    };
    const pnl: AccountUpdate = { type: "pnl", pnl: { daily: undefined, unrealized: undefined, realized: undefined } };
    const [a, b, c] = codec([{ type: "data", value: values, seq: 1 }, { type: "data", value: pnl, seq: 2 }, { type: "data", value: values, seq: 2 }], "");
    const recorded = [row(1, 0, "data", a), row(2, 0, "data", b), row(2, 1, "snapshot", c)];
    const header = rowsHeader(recorded);
    // Three events (the summary, USD, EUR), one, three: the header says how many each row holds.
    expect(header).toBe("1:0:d*3dn*3");
    expect(rowsOf(payloadOf(recorded), header).map((r) => ({ ...r, bytes: Buffer.from(r.bytes) }))).toEqual(recorded.map(({ seq, sub, kind, bytes }) => ({ seq, sub, kind, bytes: Buffer.from(bytes) })));
    expect(() => rowsOf(payloadOf(recorded).subarray(0, a!.length), header)).toThrow(/rows/);
  });

  it("names the places of rows as a recorder records them: a status before any data of an instance, snapshots, rows skipped (empty) between", () => {
    const tapped: RecordedEvent[][] = [];
    const store = tappedJournalStore(new MemoryJournalStore(), { open: () => ({ events: (rows) => tapped.push([...rows]), close: () => undefined }) });
    // The codec skips (empty bytes) values of 0, as a rendering skips an event not for it.
    const codec = (events: readonly { type: string; value?: number }[]) => events.map((e) => (e.type === "data" && e.value === 0 ? new Uint8Array(0) : framed(2)));
    const settings = { flushEveryMs: 60_000, batchEvents: 1_000_000, snapshotEveryMs: 60_000 };
    for (let instance = 0; instance < 2; instance++) {
      let state = [7, 8];
      const recorder = new FeedRecorder<number>(store.openFeed("book/1/10", "orderBook", "X", T0 + instance), codec as never, settings, () => state);
      recorder.begin(T0);
      const seq0 = recorder.lastSeq;
      [1, 0, 0, 2, 3].forEach((value, i) => recorder.record({ type: "data", value, seq: seq0 + 1 + i }, T0 + i));
      recorder.record({ type: "status", status: { kind: "gap", atMs: T0, message: "", epoch: 1 } } as never, T0 + 9);
      state = [0, 9];
      recorder.snapshot(seq0 + 5, T0 + 10);
      recorder.record({ type: "data", value: 0, seq: seq0 + 6 }, T0 + 11);
      recorder.record({ type: "status", status: { kind: "gap", atMs: T0, message: "", epoch: 1 } } as never, T0 + 12);
      recorder.close();
    }
    expect(tapped.length).toBeGreaterThan(1);
    // Begin's status (after nothing, then after the first instance's last row), data with snapshots, skipped rows, a skipped snapshot row.
    expect(tapped.map((r) => rowsHeader(r))).toEqual(["0:1:s", "1:0:dnn(4:0:d)ds(5:3:n)(6:1:s)", "6:2:s", "7:0:dnn(10:0:d)ds(11:3:n)(12:1:s)"]);
    for (const rows of tapped) {
      expect(placesOf(rowsHeader(rows))).toEqual(rows.map(({ seq, sub, kind }) => ({ seq, sub, kind, entries: 1 })));
      expect(rowsOf(payloadOf(rows), rowsHeader(rows)).map((r) => Buffer.from(r.bytes))).toEqual(rows.map((r) => Buffer.from(r.bytes)));
    }
  });
});
