import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials, Metadata } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StreamStatusKind } from "../../gen/ibprovider/v1/types.js";
import { startTestApp, type TestApp } from "../testing/testApp.js";
import { until } from "../testing/until.js";
import { rawTradesClient, TradeStreamTally } from "./testing/tradeStreamTally.js";

// Issue 15, "100 clients replaying an hour of trades while 100 live clients keep their rate": an hour cannot
// be recorded in a test, so a flood records a few seconds' worth (RECORDED prints at 10,000/s), then clients
// replay it while 100 live clients of the same feed go on. The service, the
// simulated Gateway and every client share this process (and a 2-core CI machine): the clients read only
// sequences and statuses from the wire (TradeStreamTally), not every print as objects.
const TOKEN = "replay-load-token";
const md = new Metadata();
md.set("authorization", `Bearer ${TOKEN}`);
const RECORDING_FLOOD_PER_SEC = 10_000;
const RECORDED = 10_000;
/**
 * The live feed while replays run. 100 live clients of it are 50,000 events/s to deliver: what this process
 * sustains beside the replays (at 1,000/s the live clients already fell behind the feed in some runs before
 * any replay started: 650/s each).
 */
const LIVE_PER_SEC = 500;
const LIVE = 100;
/** Clients per HTTP/2 connection (each connection a channel of its own): 200 streams over 20 connections. */
const PER_CONNECTION = 10;
/** The replays' bound: every replay complete, and live after it, within this. */
const REPLAYS_WITHIN_MS = 30_000;
/** The live clients' rate while the replays run, at least this share of their rate before. */
const KEEPS_RATE = 0.5;

const dir = mkdtempSync(join(tmpdir(), "ibp-replay-load-"));
const env = { PROVIDER_CONFIG_FILE: "bench/config.provider.json", STORE_PATH: join(dir, "store.sqlite"), STREAM_HEARTBEAT_MS: "1000" };
let testApp: TestApp;
const connections: ReturnType<typeof rawTradesClient>[] = [];

beforeAll(async () => {
  // The history: a first service on the store file records a flood of RECORDED prints and stops cleanly, so
  // that the second continues its epoch and numbering. One service could not do both here: 100 live clients
  // of a 10,000/s feed is a million events a second to deliver.
  testApp = await startTestApp({ token: TOKEN, simulator: { seed: 11, flood: true, floodRatePerSec: RECORDING_FLOOD_PER_SEC, floodBatch: 8 }, env });
  const [one] = openStreams(1, {});
  await until(() => recorded() >= RECORDED, { timeoutMs: 15_000, what: `${RECORDED} prints recorded` });
  one!.call.cancel();
  closeConnections();
  await testApp.stop();
  testApp = await startTestApp({ token: TOKEN, simulator: { seed: 11, flood: true, floodRatePerSec: LIVE_PER_SEC, floodBatch: 8 }, env });
}, 40_000);

afterAll(async () => {
  closeConnections();
  await testApp?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const trades = { connectorType: "ib", marketType: "spot", symbol: "ETHUSDT" };

function openStreams(n: number, request: { afterSequence?: string; epoch?: string }): TradeStreamTally[] {
  const out: TradeStreamTally[] = [];
  for (let i = 0; i < n; i++) {
    if (i % PER_CONNECTION === 0) connections.push(rawTradesClient(testApp.grpcAddress, credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 }));
    out.push(new TradeStreamTally(connections.at(-1)!.streamTrades({ ...trades, ...request }, md)));
  }
  return out;
}

function closeConnections(): void {
  for (const c of connections.splice(0)) c.close();
}

const recorded = () => testApp.app.store.events.feedInfos().find((f) => f.kind === "trade" && f.open)?.lastSeq ?? 0;
const counts = (streams: TradeStreamTally[]) => streams.map((s) => s.data);
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const complete = StreamStatusKind.STREAM_STATUS_KIND_REPLAY_COMPLETE;

/**
 * LIVE live clients, their rate measured over ~2 s of the feed; then `replaying` clients replay from the
 * feed's first print (after_sequence = first - 1 = 0), or its `lastPrints` last recorded ones, until each has REPLAY_COMPLETE and 100 live prints
 * after it (or REPLAYS_WITHIN_MS passes: then it throws, saying how far they got). The live clients' rate is
 * measured again over the replays' time. Everything is closed before it returns or throws.
 */
async function replayWhileLive(replaying: number, lastPrints?: number) {
  const live = openStreams(LIVE, {});
  const replayers: TradeStreamTally[] = [];
  const t1 = { at: 0 };
  const atStart: number[] = [];
  try {
    await until(() => live.every((s) => s.data >= 50), { timeoutMs: 10_000, what: "every live client receiving prints" });
    const epoch = live[0]!.statuses.find((s) => s.status.kind === StreamStatusKind.STREAM_STATUS_KIND_SUBSCRIBED)!.status.epoch;
    // The window is ended by a count (2 s of the feed to every live client), not by a sleep.
    const t0 = performance.now();
    const before = counts(live);
    await until(() => sum(counts(live)) - sum(before) >= LIVE * LIVE_PER_SEC * 2, { timeoutMs: 10_000, what: "2 s of the feed to every live client" });
    const baseline = counts(live).map((c, i) => (c - before[i]!) / ((performance.now() - t0) / 1_000));

    t1.at = performance.now();
    atStart.push(...counts(live));
    const recordedAtStart = recorded();
    const after = lastPrints === undefined ? 0 : recordedAtStart - lastPrints;
    replayers.push(...openStreams(replaying, { afterSequence: String(after), epoch }));
    await until(() => replayers.every((s) => s.liveAfterReplay >= 100 || s.error !== undefined), { timeoutMs: REPLAYS_WITHIN_MS, what: `${replaying} replays complete` });
    const seconds = (performance.now() - t1.at) / 1_000;
    const during = counts(live).map((c, i) => (c - atStart[i]!) / seconds);
    const replayed = sum(replayers.map((s) => s.dataBefore(complete) ?? 0));
    const perClient = (rates: number[]) => `min ${Math.round(Math.min(...rates))}/s, mean ${Math.round(sum(rates) / rates.length)}/s`;
    console.info(
      `replay load: ${recordedAtStart} prints recorded; ${replaying} replays in ${seconds.toFixed(2)} s (${Math.round(replayed / seconds)} replayed prints/s in all); ` +
        `${LIVE} live clients before: ${perClient(baseline)}, during the replays: ${perClient(during)} (ratio of means ${(sum(during) / sum(baseline)).toFixed(2)})`,
    );
    return { live, replayers, epoch, after, recordedAtStart, kept: during.map((r, i) => r / baseline[i]!) };
  } catch (err) {
    const seconds = (performance.now() - t1.at) / 1_000;
    const progress = replayers.length === 0 ? "" : `; after ${seconds.toFixed(1)} s the replayers had ${Math.min(...counts(replayers))} to ${Math.max(...counts(replayers))} prints (${replayers.filter((s) => s.dataBefore(complete) !== undefined).length} complete), the live clients ${(sum(counts(live)) - sum(atStart)) / LIVE / seconds}/s each, the feed ${recorded()} recorded`;
    throw new Error(`${(err as Error).message}${progress}`);
  } finally {
    for (const s of [...live, ...replayers]) s.call.cancel();
    closeConnections();
  }
}

function expectEveryPrintOnceInOrder(r: Awaited<ReturnType<typeof replayWhileLive>>): void {
  expect(r.replayers.filter((s) => s.error !== undefined).map((s) => s.error!.details)).toEqual([]);
  expect(r.live.filter((s) => s.error !== undefined).map((s) => s.error!.details)).toEqual([]);
  for (const s of r.replayers) {
    // From the first print, each the one after the previous, through REPLAY_COMPLETE into live.
    expect(s.firstSeq).toBe(r.after + 1);
    expect(s.misnumbered).toBe(0);
    expect(s.dataBefore(complete)).toBeGreaterThanOrEqual(r.recordedAtStart - r.after);
    expect(s.statuses.find((x) => x.status.kind === complete)!.status.epoch).toBe(r.epoch);
  }
  for (const s of r.live) expect(s.misnumbered).toBe(0);
  // Each live client kept at least KEEPS_RATE of its own rate before the replays.
  expect(Math.min(...r.kept)).toBeGreaterThanOrEqual(KEEPS_RATE);
}

describe(`replays of recorded prints while ${LIVE} live clients of the feed (${LIVE_PER_SEC}/s) go on`, () => {
  // 100 replays of 25k+ prints took 12-13 s on an idle 2-core machine (240,000-300,000 replayed prints/s
  // in all, the live clients at 0.97-1.01 of their rate), but up to ≈ 50 s with other test runs on the same
  // cores; in a full CI run (six test files at once on 2 cores) even 10 replays of 25k got 25 pages each in
  // 20 s. So, to stay within the bound and the suite's time: 10 replays of 10k+ prints and 100 replays of the
  // last 2,000, within 30 s. The live clients kept 0.91-1.00 of their rate in both.
  it(`10 clients replaying every print from the first (${RECORDED / 1_000}k+) get each once and in order up to REPLAY_COMPLETE and continue live, and the live clients keep their rate`, { timeout: 45_000 }, async () => {
    expectEveryPrintOnceInOrder(await replayWhileLive(10));
  });

  it("100 clients replaying the last 2,000 prints do the same", { timeout: 45_000 }, async () => {
    expectEveryPrintOnceInOrder(await replayWhileLive(100, 2_000));
  });
});
