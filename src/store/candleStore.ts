import { dec, toWire } from "../domain/decimal.js";
import type { IntervalName } from "../domain/intervals.js";
import type { Bar, TextCandle } from "../domain/marketData.js";
import { isBusy, type SqliteDatabase } from "./database.js";
import type { StoreWriter } from "./storeWriter.js";
import { mergeRanges, type TimeRange } from "./timeRanges.js";

/** One stored history: an IB contract's bars of one size, kind and session (IB's own history key). */
export interface CandleSeriesKey {
  conId: number;
  interval: IntervalName;
  /** IB whatToShow: TRADES, AGGTRADES (crypto), MIDPOINT (forex). */
  whatToShow: string;
  /** Regular trading hours only (IB useRTH). */
  rth: boolean;
}

/** For people reading the store (exports, stats): which symbol and exchange time zone the series is. */
export interface CandleSeriesLabel {
  symbol: string;
  timeZone: string;
}

export interface CandleSeriesInfo extends CandleSeriesKey, CandleSeriesLabel {
  bars: number;
  firstStartMs: number | undefined;
  lastStartMs: number | undefined;
}

/** A stored bar: `complete` when its interval had ended when IB sent it (the forming bar is kept as incomplete). */
export interface StoredBar extends Bar {
  complete: boolean;
}

/** What a write records besides its bars. */
export interface CandleWriteScope {
  /** Stored bars starting in this range are removed first: the written bars are all IB has there. */
  replace?: TimeRange;
  /** Settled and asked of IB: never asked again. Committed with the write's last bars. */
  covered?: TimeRange;
  /**
   * Asked of IB at the write's `nowMs`, but recent enough that IB may revise it: counts as covered for the
   * reader's recent TTL, and never once the bar that was forming then (ending at `formingEndMs`) has ended.
   */
  recent?: TimeRange & { formingEndMs: number };
}

/** Rows per write transaction: ~5 ms of work at the measured ~265k upserts/s. */
const ROWS_PER_JOB = 1_000;

type CandleRow = [number, string, string, string, string, string, string | null, number, number];

/**
 * Candles kept by series, and the ranges of each series that were asked of IB ("covered": what IB returned
 * for them is all there is, even when that is nothing — a weekend, a holiday). Reads are synchronous and
 * never wait for writes queued behind them; writes go through the store's one writer, the coverage of a
 * range only after all of its bars, so a crash between leaves bars without coverage (asked again), never
 * coverage without bars.
 */
export class CandleStore {
  private readonly ids = new Map<string, number>();
  private failedWriteCount = 0;
  private readonly statements;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly writer: StoreWriter,
  ) {
    this.statements = {
      findSeries: db.prepare<[number, string, string, number], { id: number }>("SELECT id FROM candle_series WHERE con_id = ? AND interval = ? AND what_to_show = ? AND rth = ?"),
      insertSeries: db.prepare("INSERT INTO candle_series (con_id, interval, what_to_show, rth, symbol, time_zone) VALUES (?, ?, ?, ?, ?, ?)"),
      relabelSeries: db.prepare("UPDATE candle_series SET symbol = ?, time_zone = ? WHERE id = ?"),
      read: db.prepare<[number, number, number]>("SELECT start_ms, open, high, low, close, volume, vwap, trades, complete FROM candles WHERE series = ? AND start_ms >= ? AND start_ms < ? ORDER BY start_ms").raw(true),
      readPage: db.prepare<[number, number, number, number]>("SELECT start_ms, open, high, low, close, volume, vwap, trades, complete FROM candles WHERE series = ? AND start_ms >= ? AND start_ms < ? ORDER BY start_ms LIMIT ?").raw(true),
      upsert: db.prepare(
        "INSERT INTO candles (series, start_ms, open, high, low, close, volume, vwap, trades, complete) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) " +
          "ON CONFLICT (series, start_ms) DO UPDATE SET open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close, volume = excluded.volume, vwap = excluded.vwap, trades = excluded.trades, complete = excluded.complete",
      ),
      deleteRange: db.prepare("DELETE FROM candles WHERE series = ? AND start_ms >= ? AND start_ms < ?"),
      recent: db.prepare<[number], { from_ms: number; to_ms: number; fetched_at_ms: number; forming_end_ms: number }>("SELECT from_ms, to_ms, fetched_at_ms, forming_end_ms FROM recent_coverage WHERE series = ?"),
      setRecent: db.prepare("INSERT OR REPLACE INTO recent_coverage (series, from_ms, to_ms, fetched_at_ms, forming_end_ms) VALUES (?, ?, ?, ?, ?)"),
      covered: db.prepare<[number, number, number], { from_ms: number; to_ms: number }>("SELECT from_ms, to_ms FROM coverage WHERE series = ? AND to_ms >= ? AND from_ms <= ? ORDER BY from_ms"),
      deleteCoverage: db.prepare("DELETE FROM coverage WHERE series = ? AND from_ms = ?"),
      insertCoverage: db.prepare("INSERT INTO coverage (series, from_ms, to_ms, fetched_at_ms) VALUES (?, ?, ?, ?)"),
      series: db.prepare<[], CandleSeriesRow>(
        "SELECT s.id, s.con_id, s.interval, s.what_to_show, s.rth, s.symbol, s.time_zone, COUNT(c.start_ms) AS bars, MIN(c.start_ms) AS first_ms, MAX(c.start_ms) AS last_ms FROM candle_series s LEFT JOIN candles c ON c.series = s.id GROUP BY s.id ORDER BY s.symbol, s.interval",
      ),
    };
  }

  /** Stored bars of [fromMs, toMs), ascending by start. */
  read(key: CandleSeriesKey, fromMs: number, toMs: number): StoredBar[] {
    const id = this.idOf(key, undefined);
    if (id === undefined) return [];
    return (this.statements.read.all(id, fromMs, toMs) as CandleRow[]).map(barFromRow);
  }

  /**
   * Up to `limit` stored candles from `fromMs` (inclusive) to `toMs`, ascending, as wire text: the bulk read
   * path (no Decimal per value). Page on with fromMs = the last start + 1.
   */
  readText(key: CandleSeriesKey, fromMs: number, toMs: number, limit: number): TextCandle[] {
    const id = this.idOf(key, undefined);
    if (id === undefined) return [];
    const interval = key.interval;
    return (this.statements.readPage.all(id, fromMs, toMs, limit) as CandleRow[]).map((r) => ({
      startMs: r[0],
      interval,
      open: r[1],
      high: r[2],
      low: r[3],
      close: r[4],
      volume: r[5],
      vwap: r[6] ?? "",
      tradeCount: r[7],
      complete: r[8] === 1,
    }));
  }

  /**
   * The covered parts of [fromMs, toMs) at `nowMs`, merged, oldest first: the settled ranges, plus the recent
   * range when fetched less than `recentTtlMs` ago and its forming bar has not ended.
   */
  covered(key: CandleSeriesKey, fromMs: number, toMs: number, nowMs: number, recentTtlMs = 0): TimeRange[] {
    const id = this.idOf(key, undefined);
    if (id === undefined) return [];
    const rows: TimeRange[] = this.statements.covered.all(id, fromMs, toMs).map((r) => ({ fromMs: r.from_ms, toMs: r.to_ms }));
    const recent = this.statements.recent.get(id);
    if (recent !== undefined && nowMs < recent.fetched_at_ms + recentTtlMs && nowMs < recent.forming_end_ms) rows.push({ fromMs: recent.from_ms, toMs: recent.to_ms });
    return mergeRanges(rows.map((r) => ({ fromMs: Math.max(r.fromMs, fromMs), toMs: Math.min(r.toMs, toMs) })));
  }

  /**
   * Queues bars (replacing stored bars of the same start) and what `scope` records about them.
   * Resolves when committed; rejects when the write failed (the caller's answer does not depend on it).
   *
   * A large write is several transactions. Each removes only its own share of `replace` (up to the next
   * transaction's first bar), so a reader between them, or a crash, finds every bar of a covered range in its
   * old or its new revision, never a hole. Once one fails, the rest are not run: the coverage, committed with
   * the last, is never claimed for bars that were not stored.
   */
  write(key: CandleSeriesKey & CandleSeriesLabel, bars: readonly StoredBar[], scope: CandleWriteScope, nowMs: number): Promise<void> {
    // Wire text: read back, it goes to the API as it is (readText), with no Decimal in between.
    const rows = bars.map((b): CandleRow => [b.startMs, toWire(b.open), toWire(b.high), toWire(b.low), toWire(b.close), toWire(b.volume), b.vwap === undefined ? null : toWire(b.vwap), b.count ?? 0, b.complete ? 1 : 0]);
    rows.sort((a, b) => a[0] - b[0]);
    return new Promise((resolve, reject) => {
      const jobs = Math.max(1, Math.ceil(rows.length / ROWS_PER_JOB));
      let failed = false;
      for (let j = 0; j < jobs; j++) {
        const slice = rows.slice(j * ROWS_PER_JOB, (j + 1) * ROWS_PER_JOB);
        const last = j === jobs - 1;
        const replace = scope.replace === undefined ? undefined : shareOf(scope.replace, j === 0 ? undefined : slice[0]![0], last ? undefined : rows[(j + 1) * ROWS_PER_JOB]![0]);
        this.writer.enqueue(() => {
          if (failed) return;
          try {
            this.db.transaction(() => {
              const id = this.idOf(key, key)!;
              if (replace !== undefined) this.statements.deleteRange.run(id, replace.fromMs, replace.toMs);
              for (const row of slice) this.statements.upsert.run(id, ...row);
              if (!last) return;
              if (scope.covered !== undefined) this.addCoverage(id, scope.covered, nowMs);
              if (scope.recent !== undefined) this.statements.setRecent.run(id, scope.recent.fromMs, scope.recent.toMs, nowMs, scope.recent.formingEndMs);
            })();
          } catch (err) {
            // A series created in the rolled-back transaction does not exist: its id may be the next new series'.
            this.ids.delete(seriesText(key));
            // Locked by another connection: the writer runs this job again later, the write goes on then.
            if (isBusy(err) && this.writer.retriesBusy) throw err;
            failed = true;
            this.failedWriteCount++;
            reject(err instanceof Error ? err : new Error(String(err)));
            throw err;
          }
          if (last) resolve();
        });
      }
    });
  }

  /** Candle writes that failed (e.g. disk full) since the store opened. */
  get failedWrites(): number {
    return this.failedWriteCount;
  }

  /** Resolves when every write queued so far (by anyone) is committed. */
  flushed(): Promise<void> {
    return this.writer.idle();
  }

  /** Every series with its bar count and range (operators, exports). */
  series(): CandleSeriesInfo[] {
    return this.statements.series.all().map((r) => ({
      conId: r.con_id,
      interval: r.interval as IntervalName,
      whatToShow: r.what_to_show,
      rth: r.rth === 1,
      symbol: r.symbol,
      timeZone: r.time_zone,
      bars: r.bars,
      firstStartMs: r.first_ms ?? undefined,
      lastStartMs: r.last_ms ?? undefined,
    }));
  }

  /** Merges `range` into the series' coverage (inside the caller's transaction). */
  private addCoverage(id: number, range: TimeRange, nowMs: number): void {
    if (range.toMs <= range.fromMs) return;
    let fromMs = range.fromMs;
    let toMs = range.toMs;
    for (const r of this.statements.covered.all(id, fromMs, toMs)) {
      fromMs = Math.min(fromMs, r.from_ms);
      toMs = Math.max(toMs, r.to_ms);
      this.statements.deleteCoverage.run(id, r.from_ms);
    }
    this.statements.insertCoverage.run(id, fromMs, toMs, nowMs);
  }

  /** The series' id; created (with its label) when `label` is given, else undefined when unknown. */
  private idOf(key: CandleSeriesKey, label: CandleSeriesLabel | undefined): number | undefined {
    const text = seriesText(key);
    const known = this.ids.get(text);
    if (known !== undefined) return known;
    const row = this.statements.findSeries.get(key.conId, key.interval, key.whatToShow, key.rth ? 1 : 0);
    let id = row?.id;
    if (id === undefined) {
      if (label === undefined) return undefined;
      id = Number(this.statements.insertSeries.run(key.conId, key.interval, key.whatToShow, key.rth ? 1 : 0, label.symbol, label.timeZone).lastInsertRowid);
    } else if (label !== undefined) {
      this.statements.relabelSeries.run(label.symbol, label.timeZone, id);
    }
    this.ids.set(text, id);
    return id;
  }
}

interface CandleSeriesRow {
  id: number;
  con_id: number;
  interval: string;
  what_to_show: string;
  rth: number;
  symbol: string;
  time_zone: string;
  bars: number;
  first_ms: number | null;
  last_ms: number | null;
}

function seriesText(key: CandleSeriesKey): string {
  return `${key.conId}/${key.interval}/${key.whatToShow}/${key.rth ? 1 : 0}`;
}

/** The part of `range` from `fromMs` (its start when undefined) to `toMs` (its end when undefined). */
function shareOf(range: TimeRange, fromMs: number | undefined, toMs: number | undefined): TimeRange | undefined {
  const share = { fromMs: Math.max(range.fromMs, fromMs ?? range.fromMs), toMs: Math.min(range.toMs, toMs ?? range.toMs) };
  return share.toMs > share.fromMs ? share : undefined;
}

function barFromRow(row: CandleRow): StoredBar {
  const bar: StoredBar = { startMs: row[0], open: dec(row[1]), high: dec(row[2]), low: dec(row[3]), close: dec(row[4]), volume: dec(row[5]), count: row[7], complete: row[8] === 1 };
  if (row[6] !== null) bar.vwap = dec(row[6]);
  return bar;
}
