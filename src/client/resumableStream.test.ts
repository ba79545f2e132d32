import { Metadata, status, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import type { TradeEvent } from "../../gen/ibprovider/v1/market_data_service.js";
import { ErrorInfo } from "../../gen/google/rpc/error_details.js";
import { Status } from "../../gen/google/rpc/status.js";
import { StreamStatusKind, type Trade } from "../../gen/ibprovider/v1/types.js";
import { resumableStream, type CallStart, type ResumeOptions } from "./resumableStream.js";
import type { StreamItem } from "./streamItem.js";

// Seam: `open` returns scripted calls instead of grpc-js calls, one script per call, and records the
// start each call was opened with: the resume protocol without a server (the real one: resume.e2e.test.ts).
const trade = (sequence: number): TradeEvent => ({ event: { $case: "trade", value: { symbol: "ETHUSDT" } as Trade }, sequence: String(sequence), backfilled: false });
const status_ = (kind: StreamStatusKind, epoch = 0, message = ""): TradeEvent => ({
  event: { $case: "status", value: { kind, time: undefined, message, ibCode: 0, sinceLastData: undefined, until: undefined, epoch: String(epoch) } },
  sequence: "0",
  backfilled: false,
});
const subscribed = (epoch: number) => status_(StreamStatusKind.STREAM_STATUS_KIND_SUBSCRIBED, epoch);
const replayComplete = (epoch: number) => status_(StreamStatusKind.STREAM_STATUS_KIND_REPLAY_COMPLETE, epoch);
const gapStatus = (message: string, epoch = 0) => status_(StreamStatusKind.STREAM_STATUS_KIND_GAP, epoch, message);

function serviceError(code: status, details: string, reason?: string): ServiceError {
  const metadata = new Metadata();
  if (reason !== undefined) {
    const info = ErrorInfo.encode({ reason, domain: "ibprovider", metadata: {} }).finish();
    metadata.set("grpc-status-details-bin", Buffer.from(Status.encode({ code, message: details, details: [{ typeUrl: "type.googleapis.com/google.rpc.ErrorInfo", value: Buffer.from(info) }] }).finish()));
  }
  return Object.assign(new Error(`${code} ${details}`), { code, details, metadata }) as ServiceError;
}
const dropped = () => serviceError(status.UNAVAILABLE, "connection dropped");

/** One call: its events (one batch each), then the error it fails with (none: it ends normally). */
interface Script {
  events: TradeEvent[];
  error?: ServiceError;
}

function scripted(scripts: Script[]): { open: (start?: CallStart) => ClientReadableStream<{ events: TradeEvent[] }>; starts: Array<CallStart | undefined> } {
  const starts: Array<CallStart | undefined> = [];
  const open = (start?: CallStart) => {
    starts.push(start);
    const script = scripts[starts.length - 1];
    if (script === undefined) throw new Error(`call ${starts.length} was not scripted`);
    return {
      async *[Symbol.asyncIterator]() {
        for (const event of script.events) yield { events: [event] };
        if (script.error !== undefined) throw script.error;
      },
      cancel: () => undefined,
    } as unknown as ClientReadableStream<{ events: TradeEvent[] }>;
  };
  return { open, starts };
}

const FAST: ResumeOptions = { backoff: { initialMs: 1, maxMs: 1, jitter: 0 } };

async function collect(open: (start?: CallStart) => ClientReadableStream<{ events: TradeEvent[] }>, options: ResumeOptions = {}): Promise<Array<StreamItem<TradeEvent>>> {
  const items: Array<StreamItem<TradeEvent>> = [];
  for await (const item of resumableStream(open, { ...FAST, ...options })) items.push(item);
  return items;
}

/** A line per item: "trade5@7" (sequence @ epoch), "SUBSCRIBED", "gap:sequence", "reconnecting". */
function lines(items: Array<StreamItem<TradeEvent>>): string[] {
  return items.map((item) => {
    if (item.kind === "gap") return `gap:${item.cause}`;
    if (item.kind === "reconnecting") return "reconnecting";
    const e = item.event.event!;
    if (e.$case === "status") return StreamStatusKind[e.value.kind].replace("STREAM_STATUS_KIND_", "");
    return `${e.$case}${item.sequence}@${item.epoch ?? "?"}`;
  });
}

describe("resuming a dropped stream exactly", () => {
  it("reconnects with after_sequence + epoch of the last trade yielded and yields the replayed trades as ordinary events, no gap", async () => {
    const { open, starts } = scripted([
      { events: [subscribed(7), trade(1), trade(2), trade(3)], error: dropped() },
      { events: [subscribed(7), trade(4), trade(5), replayComplete(7), trade(6)] },
    ]);
    const items = await collect(open);
    expect(starts).toEqual([undefined, { afterSequence: "3", epoch: "7" }]);
    expect(lines(items)).toEqual(["SUBSCRIBED", "trade1@7", "trade2@7", "trade3@7", "reconnecting", "SUBSCRIBED", "trade4@7", "trade5@7", "REPLAY_COMPLETE", "trade6@7"]);
  });

  it("resumes again from the newest point after a second drop, mid-replay", async () => {
    const { open, starts } = scripted([
      { events: [subscribed(7), trade(1)], error: dropped() },
      { events: [subscribed(7), trade(2)], error: dropped() },
      { events: [subscribed(7), trade(3), replayComplete(7)] },
    ]);
    const items = await collect(open);
    expect(starts.slice(1)).toEqual([
      { afterSequence: "1", epoch: "7" },
      { afterSequence: "2", epoch: "7" },
    ]);
    expect(items.filter((i) => i.kind === "gap")).toEqual([]);
  });

  it("reports a gap only when the service says it cannot replay (GAP on resume), with the exact count from the numbering", async () => {
    const { open } = scripted([
      { events: [subscribed(7), trade(1), trade(2)], error: dropped() },
      { events: [subscribed(7), gapStatus("the events after 2 of epoch 7 are no longer retained; continuing live"), replayComplete(7), trade(9)] },
    ]);
    const items = await collect(open);
    expect(lines(items).slice(4)).toEqual(["SUBSCRIBED", "gap:server", "GAP", "REPLAY_COMPLETE", "gap:sequence", "trade9@7"]);
    expect(items.find((i) => i.kind === "gap")).toMatchObject({ cause: "server", lastSequence: 2n, message: expect.stringMatching(/no longer retained/) });
    expect(items.filter((i) => i.kind === "gap")[1]).toMatchObject({ cause: "sequence", missed: 6n, message: "jumped: 6 missed (2 → 9)" });
  });

  it("tells the caller the service restarted (a new epoch), distinct from a jump, and resumes in the new epoch afterwards", async () => {
    // The service stopped abruptly: epoch 7 was saved up to 2 only; epoch 9 numbers from 3 and replays from its start.
    const { open, starts } = scripted([
      { events: [subscribed(7), trade(1), trade(2), trade(3), trade(4)], error: dropped() },
      {
        events: [subscribed(9), gapStatus("epoch 7 was recorded up to 2 only (the service stopped without saving the rest): replaying epoch 9 from its start"), gapStatus("numbering continues in epoch 9", 9), subscribed(9), trade(3), trade(4)],
        error: dropped(),
      },
      { events: [subscribed(9), trade(5), replayComplete(9)] },
    ]);
    const items = await collect(open);
    expect(starts).toEqual([undefined, { afterSequence: "4", epoch: "7" }, { afterSequence: "4", epoch: "9" }]);
    const restarted = items.find((i) => i.kind === "gap" && i.cause === "restarted");
    expect(restarted).toMatchObject({ previousEpoch: 7n, epoch: 9n, lastSequence: 4n, nextSequence: 3n, missed: undefined, message: expect.stringMatching(/^restarted: new epoch 9 \(was 7\)/) });
    expect(lines(items).filter((l) => l.startsWith("trade") || l.startsWith("gap"))).toEqual(["trade1@7", "trade2@7", "trade3@7", "trade4@7", "gap:server", "gap:server", "gap:restarted", "trade3@9", "trade4@9", "trade5@9"]);
  });

  it("goes live at once when the service cannot replay at all (no store: FAILED_PRECONDITION REPLAY_UNAVAILABLE), and stops asking", async () => {
    const { open, starts } = scripted([
      { events: [subscribed(7), trade(1)], error: dropped() },
      { events: [], error: serviceError(status.FAILED_PRECONDITION, "the feed is not recorded", "REPLAY_UNAVAILABLE") },
      { events: [subscribed(8), trade(1)], error: dropped() },
      { events: [subscribed(8), trade(5)] },
    ]);
    const items = await collect(open);
    expect(starts).toEqual([undefined, { afterSequence: "1", epoch: "7" }, { live: true }, { live: true }]);
    expect(lines(items)).toEqual(["SUBSCRIBED", "trade1@7", "reconnecting", "SUBSCRIBED", "gap:restarted", "trade1@8", "reconnecting", "SUBSCRIBED", "gap:sequence", "trade5@8"]);
  });

  it("throws the service's refusal of the caller's own start (not a reconnect's)", async () => {
    const { open } = scripted([{ events: [], error: serviceError(status.OUT_OF_RANGE, "start_time: nothing is recorded that early", "REPLAY_OUT_OF_RANGE") }]);
    await expect(collect(open, { start: { time: 0 } })).rejects.toMatchObject({ code: status.OUT_OF_RANGE });
  });
});

describe("starting a stream in the past", () => {
  it("from a time: the first call asks for it, and again after a drop before any data; later drops resume after the sequence", async () => {
    const at = new Date("2026-12-03T09:30:00Z");
    const { open, starts } = scripted([
      { events: [subscribed(7)], error: dropped() },
      { events: [subscribed(7), trade(40), trade(41)], error: dropped() },
      { events: [subscribed(7), trade(42), replayComplete(7), trade(43)] },
    ]);
    const items = await collect(open, { start: { time: at } });
    expect(starts).toEqual([{ time: at }, { time: at }, { afterSequence: "41", epoch: "7" }]);
    expect(items.filter((i) => i.kind === "gap")).toEqual([]);
  });

  it("after a sequence: a saved resume point; the replayed events follow it with no gap", async () => {
    const { open, starts } = scripted([{ events: [subscribed(7), trade(11), replayComplete(7), trade(12)] }]);
    const items = await collect(open, { start: { afterSequence: 10n, epoch: "7" } });
    expect(starts).toEqual([{ afterSequence: 10n, epoch: "7" }]);
    expect(lines(items)).toEqual(["SUBSCRIBED", "trade11@7", "REPLAY_COMPLETE", "trade12@7"]);
  });
});
