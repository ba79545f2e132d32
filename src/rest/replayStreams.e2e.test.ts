import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../testing/testApp.js";
import { until } from "../testing/until.js";

// Issue 15, "REST streams accept the same parameters": the bridge binds start_time (RFC 3339 or unix
// milliseconds), after_sequence and epoch from the query string of /api/…/stream (proto or lowerCamel names,
// as for every field), and a refusal before the first message is a plain HTTP error: INVALID_ARGUMENT 400 with
// the field in its BadRequest, OUT_OF_RANGE 400 (grpc-gateway's mapping) with the oldest time available.
const TOKEN = "rest-replay-token";
const auth = { authorization: `Bearer ${TOKEN}` };
let testApp: TestApp;
let base: string;

beforeAll(async () => {
  testApp = await startTestApp({
    token: TOKEN,
    simulator: { seed: 11, flood: true, floodRatePerSec: 2_000, floodBatch: 8 },
    env: { PROVIDER_CONFIG_FILE: "bench/config.provider.json", STREAM_HEARTBEAT_MS: "1000" },
  });
  base = testApp.app.rest.url;
}, 30_000);

afterAll(async () => {
  await testApp?.stop();
});

/** A stream event in canonical JSON (zero values included): its sequence and one of trade/tick/status/heartbeat. */
interface JsonEvent {
  sequence: string;
  status?: { kind: string; epoch: string; message: string };
  heartbeat?: unknown;
  [data: string]: unknown;
}

const isData = (e: JsonEvent) => e.status === undefined && e.heartbeat === undefined;
const seqsOf = (events: JsonEvent[]) => events.filter(isData).map((e) => Number(e.sequence));
const completeAt = (events: JsonEvent[]) => events.findIndex((e) => e.status?.kind === "STREAM_STATUS_KIND_REPLAY_COMPLETE");
const dataAfterComplete = (events: JsonEvent[]) => (completeAt(events) < 0 ? 0 : events.slice(completeAt(events)).filter(isData).length);

/**
 * An NDJSON stream of the bridge read line by line, its events collected (into `events`), until `enough`
 * holds (bounded: throws after timeoutMs); the request is then aborted.
 */
async function streamEvents(path: string, enough: (events: JsonEvent[]) => boolean, timeoutMs = 10_000, events: JsonEvent[] = []): Promise<{ httpStatus: number; events: JsonEvent[] }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`${path}: not enough events within ${timeoutMs} ms`)), timeoutMs);
  try {
    const res = await fetch(base + path, { headers: auth, signal: controller.signal });
    if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of res.body!) {
      buffered += decoder.decode(chunk, { stream: true });
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) {
        const parsed = JSON.parse(line) as { result?: { events: JsonEvent[] }; error?: unknown };
        if (parsed.error !== undefined) throw new Error(`${path}: the stream failed: ${JSON.stringify(parsed.error)}`);
        events.push(...parsed.result!.events);
      }
      if (enough(events)) return { httpStatus: res.status, events };
    }
    throw new Error(`${path}: the stream ended after ${events.length} events`);
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

/** A refusal before the first message: a plain HTTP error with google.rpc.Status JSON. */
async function refusal(path: string): Promise<{ httpStatus: number; code: number; message: string; details: Record<string, unknown>[] }> {
  const res = await fetch(base + path, { headers: auth, signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as { code: number; message: string; details: Record<string, unknown>[] };
  return { httpStatus: res.status, ...body };
}
const detail = (details: Record<string, unknown>[], type: string) => details.find((d) => d["@type"] === `type.googleapis.com/google.rpc.${type}`) as Record<string, unknown> | undefined;

/** Waits until the open feed of `kind` has recorded `count` data events after now (the service records later than it sends). */
async function recordedFromNow(kind: string, count: number): Promise<number> {
  const rows = () => testApp.app.store.events.feedInfos().find((f) => f.kind === kind && f.open)?.lastSeq ?? 0;
  const startMs = Date.now();
  // Rows committed 100 ms after the start include everything recorded before it (flushed every 25 ms).
  await until(() => Date.now() >= startMs + 100, { what: "100 ms to pass" });
  const before = rows();
  await until(() => rows() >= before + count, { timeoutMs: 10_000, what: `${count} ${kind} events recorded` });
  return startMs;
}

const expectContiguousFrom = (numbers: number[], first: number) => expect(numbers).toEqual(numbers.map((_, i) => first + i));

describe("REST streams take the replay parameters", () => {
  it("a trades stream resumed with ?after_sequence=&epoch= replays what was missed, says REPLAY_COMPLETE, then goes on live, contiguous", async () => {
    const path = "/api/trades/ib/spot/ETHUSDT/stream";
    // A witness keeps the feed open (and recorded) while the client is away.
    const witnessed: JsonEvent[] = [];
    let done = false;
    const witness = streamEvents(path, () => done, 20_000, witnessed);
    await until(() => seqsOf(witnessed).length >= 10, { what: "the witness's first trades" });
    const first = await streamEvents(path, (events) => seqsOf(events).length >= 100);
    const epoch = first.events.find((e) => e.status?.kind === "STREAM_STATUS_KIND_SUBSCRIBED")!.status!.epoch;
    expect(epoch).toMatch(/^[1-9]\d*$/);
    const last = Math.max(...seqsOf(first.events));
    await until(() => seqsOf(witnessed).some((s) => s >= last + 500), { what: "500 prints while the client is away" });
    for (const query of [`after_sequence=${last}&epoch=${epoch}`, `afterSequence=${last}&epoch=${epoch}`]) {
      const resumed = await streamEvents(`${path}?${query}`, (events) => dataAfterComplete(events) >= 50);
      expect(resumed.events[0]!.status).toMatchObject({ kind: "STREAM_STATUS_KIND_SUBSCRIBED", epoch });
      const replayed = seqsOf(resumed.events.slice(0, completeAt(resumed.events)));
      expect(replayed.length).toBeGreaterThanOrEqual(500);
      expect(resumed.events[completeAt(resumed.events)]!.status).toMatchObject({ epoch, message: expect.stringMatching(new RegExp(`^replayed \\d+ recorded events after ${last} of epoch ${epoch}; live from here`)) });
      expectContiguousFrom(seqsOf(resumed.events), last + 1);
      expect(resumed.events.filter(isData).every((e) => e.trade !== undefined)).toBe(true);
    }
    done = true;
    await witness;
    // The replayed prints are those the witness received live, field for field.
    const resumedOnce = await streamEvents(`${path}?after_sequence=${last}&epoch=${epoch}`, (events) => seqsOf(events).length >= 500);
    const bySeq = new Map(witnessed.filter(isData).map((e) => [e.sequence, e]));
    expect(resumedOnce.events.filter(isData).slice(0, 500)).toEqual(resumedOnce.events.filter(isData).slice(0, 500).map((e) => bySeq.get(e.sequence)));
  });

  it.each([
    ["RFC 3339", (ms: number) => new Date(ms).toISOString()],
    ["unix milliseconds", (ms: number) => String(ms)],
  ])("a ticks stream from ?start_time= (%s) replays the ticks recorded since, then REPLAY_COMPLETE, then live, contiguous", async (_format, render) => {
    const path = "/api/ticks/ib/spot/BTCUSDT/stream";
    // A live client keeps the feed open (and recorded) while the replaying one asks for the past.
    const liveEvents: JsonEvent[] = [];
    let done = false;
    const live = streamEvents(path, () => done, 15_000, liveEvents);
    await until(() => seqsOf(liveEvents).length >= 50, { what: "ticks being recorded" });
    const startMs = await recordedFromNow("tick", 200);
    const replaying = await streamEvents(`${path}?start_time=${encodeURIComponent(render(startMs))}`, (events) => dataAfterComplete(events) >= 50);
    const switchAt = completeAt(replaying.events);
    expect(switchAt).toBeGreaterThan(0);
    expect(replaying.events[switchAt]!.status!.message).toContain(`from ${new Date(startMs).toISOString()}`);
    expect(seqsOf(replaying.events.slice(0, switchAt)).length).toBeGreaterThanOrEqual(200);
    expectContiguousFrom(seqsOf(replaying.events), seqsOf(replaying.events)[0]!);
    expect(replaying.events.filter(isData).every((e) => (e.tick as { symbol: string } | undefined)?.symbol === "BTCUSDT")).toBe(true);
    done = true; // the live client leaves with its next message
    await live;
  });

  it.each([
    ["after_sequence without epoch", "after_sequence=5", "epoch"],
    ["after_sequence with start_time", `after_sequence=5&epoch=1&start_time=${new Date(Date.now() - 1_000).toISOString()}`, "after_sequence"],
    ["a start_time in the future", `start_time=${new Date(Date.now() + 3_600_000).toISOString()}`, "start_time"],
    ["a start_time that is no time", "start_time=yesterday", "start_time"],
    ["an after_sequence that is no number", "after_sequence=last&epoch=1", "after_sequence"],
    ["an epoch without after_sequence", "epoch=7", "epoch"],
  ])("%s: HTTP 400, INVALID_ARGUMENT naming the field", async (_name, query, field) => {
    const r = await refusal(`/api/trades/ib/spot/ETHUSDT/stream?${query}`);
    expect(r.httpStatus).toBe(400);
    expect(r.code).toBe(status.INVALID_ARGUMENT);
    expect((detail(r.details, "BadRequest")?.fieldViolations as { field: string }[])[0]!.field).toBe(field);
  });

  it("a start_time older than anything recorded: HTTP 400 (OUT_OF_RANGE, as grpc-gateway maps it) naming the oldest time available", async () => {
    const r = await refusal(`/api/ticks/ib/spot/BTCUSDT/stream?start_time=${Date.now() - 3_600_000}`);
    expect(r.httpStatus).toBe(400);
    expect(r.code).toBe(status.OUT_OF_RANGE);
    const info = detail(r.details, "ErrorInfo") as { reason: string; metadata: Record<string, string> };
    expect(info).toMatchObject({ reason: "REPLAY_OUT_OF_RANGE", metadata: { field: "start_time" } });
    expect(Date.parse(info.metadata.oldestAvailable!)).toBeGreaterThan(Date.now() - 3_600_000);
    expect(r.message).toMatch(/^start_time: .*oldest event retained is at \d{4}-/);
  });

  it("an after_sequence the feed has not reached: HTTP 400 (OUT_OF_RANGE) naming after_sequence", async () => {
    const path = "/api/trades/ib/spot/ETHUSDT/stream";
    const live = await streamEvents(path, (events) => seqsOf(events).length >= 1);
    const epoch = live.events[0]!.status!.epoch;
    const r = await refusal(`${path}?after_sequence=999999999&epoch=${epoch}`);
    expect(r.httpStatus).toBe(400);
    expect(r.code).toBe(status.OUT_OF_RANGE);
    expect(detail(r.details, "ErrorInfo")).toMatchObject({ reason: "REPLAY_OUT_OF_RANGE", metadata: { field: "after_sequence" } });
    expect(r.message).toMatch(/^after_sequence: sequence 999999999 has not been reached in epoch \d+/);
  });
});
