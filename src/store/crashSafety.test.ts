import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import { afterEach, expect, it } from "vitest";
import { until } from "../testing/until.js";
import { MarketStore } from "./marketStore.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TSX = pathToFileURL(join(ROOT, "node_modules", "tsx", "dist", "loader.mjs")).href;
const WRITER = fileURLToPath(new URL("./testing/writeUntilKilled.ts", import.meta.url));

let dir: string | undefined;
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

it("kill -9 in the middle of writing loses at most the open transactions: the file is intact, no coverage is without its bars, and the recorded events are a run from 1 to the feed's last sequence", async () => {
  dir = mkdtempSync(join(tmpdir(), "ibp-crash-"));
  const path = join(dir, "store.sqlite");
  const child = spawn(process.execPath, ["--import", TSX, WRITER, path], { stdio: ["ignore", "pipe", "inherit"] });
  let committedHours = 0;
  let committedEvents = 0;
  child.stdout.setEncoding("utf8").on("data", (text: string) => {
    const lines = text.trim().split("\n");
    [committedHours, committedEvents] = lines[lines.length - 1]!.split(" ").map(Number) as [number, number];
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
  await until(() => committedHours >= 200, { timeoutMs: 20_000, what: "the child committed 200 hours of bars" });
  child.kill("SIGKILL");
  expect(await exited).toBe("SIGKILL");

  const raw = new Database(path, { readonly: true });
  expect(raw.pragma("integrity_check", { simple: true })).toBe("ok");
  // Events (committed on the event writer's thread): every one reported committed is there, with no hole, and the feed's row claims exactly those.
  const events = raw.prepare("SELECT COUNT(*) AS n, MIN(seq) AS first, MAX(seq) AS last FROM events").get() as { n: number; first: number; last: number };
  const feed = raw.prepare("SELECT last_seq FROM feeds WHERE key = 'trade:CRASH'").get() as { last_seq: number };
  expect(events.last).toBeGreaterThanOrEqual(committedEvents);
  expect(events).toEqual({ n: events.last, first: 1, last: feed.last_seq });
  expect((raw.prepare("SELECT n FROM row_counts WHERE tbl = 'events'").get() as { n: number }).n).toBe(events.n);
  raw.close();
  const store = MarketStore.open(path);
  const key = { conId: 1, interval: "min1" as const, whatToShow: "TRADES", rth: false };
  const covered = store.candles.covered(key, 0, Number.MAX_SAFE_INTEGER, Date.now());
  // Every hour reported committed is there, covered as one range from 0.
  expect(covered).toHaveLength(1);
  expect(covered[0]!.fromMs).toBe(0);
  const coveredHours = covered[0]!.toMs / 3_600_000;
  expect(coveredHours).toBeGreaterThanOrEqual(committedHours);
  // Every covered minute has its bar (coverage is committed with or after its bars, never before).
  const bars = store.candles.read(key, 0, covered[0]!.toMs);
  expect(bars).toHaveLength(coveredHours * 60);
  expect(bars.every((b, i) => b.startMs === i * 60_000)).toBe(true);
  store.close();
});
