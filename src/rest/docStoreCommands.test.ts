import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CANDLE_CSV_HEADER } from "../domain/candleCsv.js";
import { dec } from "../domain/decimal.js";
import { MarketStore } from "../store/marketStore.js";
import { ofKind, ROOT, rows } from "./testing/docCommands.js";

// The docs' `npm run store -- …` commands, each run as a reader would paste it, on a scratch store file: in a
// file of their own, so that these child processes run beside readmeExamples.test.ts's, not after them.
describe("the store CLI", () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), "ibp-doc-store-"));
    const store = MarketStore.open(join(scratch, "store.sqlite"));
    const day = Date.UTC(2026, 10, 2, 14, 30);
    const bars = (n: number, stepMs: number) => Array.from({ length: n }, (_, i) => ({ startMs: day + i * stepMs, open: dec("1.5"), high: dec("2"), low: dec("1"), close: dec("1.75"), volume: dec(i), count: i, complete: true }));
    await store.candles.write({ conId: 265598, interval: "min1", whatToShow: "TRADES", rth: true, symbol: "AAPL", timeZone: "US/Eastern" }, bars(390, 60_000), { covered: { fromMs: day, toMs: day + 390 * 60_000 } }, Date.now());
    await store.candles.write({ conId: 1, interval: "h1", whatToShow: "AGGTRADES", rth: false, symbol: "BTCUSDT", timeZone: "UTC" }, bars(48, 3_600_000), {}, Date.now());
    store.close();
  });
  afterAll(() => {
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  });

  it.each(rows(ofKind("store")))("%s", async (_, c) => {
    // npm --prefix: the repository's script, run from the scratch directory (INIT_CWD: where --out and ">" write).
    const command = c.command.replace(/^npm run /, `npm --prefix ${ROOT} run `);
    const { stdout } = await promisify(execFile)("bash", ["-c", command], { cwd: scratch, env: { ...process.env, STORE_PATH: join(scratch, "store.sqlite") }, timeout: 30_000, encoding: "utf8" });
    const out = /(?:--out |> )(\S+)/.exec(c.command)?.[1];
    if (out !== undefined) expect(readFileSync(join(scratch, out), "utf8").split("\n")[0]).toBe(CANDLE_CSV_HEADER.trimEnd());
    else expect(stdout.trim()).not.toBe("");
  }, 40_000);
});

