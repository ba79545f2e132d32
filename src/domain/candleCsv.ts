/**
 * Candles as CSV, the way researchers load them (pandas.read_csv, polars.read_csv): one writer for the REST
 * candles route (`?format=csv`) and the store CLI's export, so the two give the same bytes for the same bars.
 *
 * Decimals are their wire text (toWire: plain notation, no trailing zeros), the very strings the JSON API
 * sends; nothing is parsed into a float on the way. No field can hold a comma, quote or line break (times,
 * decimals, integers, booleans), so none is quoted. Lines end with "\n" (as pandas writes on Linux; both
 * libraries read either).
 */
import type { TextCandle } from "./marketData.js";

export const CANDLE_CSV_COLUMNS = ["time", "time_ms", "open", "high", "low", "close", "volume", "vwap", "trades", "complete"] as const;

export const CANDLE_CSV_HEADER = `${CANDLE_CSV_COLUMNS.join(",")}\n`;

/** One candle in the API's own text: a TextCandle's values, its trade count as the JSON API's int64 string or a number. */
export type CandleCsvRow = Omit<TextCandle, "interval" | "tradeCount"> & { trades: string | number };

/** A candle in the API's text: a TextCandle's strings as they are (a Candle goes through textCandleOf first). */
export function candleCsvRowOf(t: TextCandle): CandleCsvRow {
  return { startMs: t.startMs, open: t.open, high: t.high, low: t.low, close: t.close, volume: t.volume, vwap: t.vwap, trades: t.tradeCount, complete: t.complete };
}

/** RFC 3339 in UTC as the JSON API writes a whole-second Timestamp: "2026-12-01T14:30:00Z" (milliseconds only when there are any). */
export function csvTime(ms: number): string {
  return new Date(ms).toISOString().replace(".000Z", "Z");
}

/** One CSV line, "\n" included. */
export function candleCsvLine(r: CandleCsvRow): string {
  return `${csvTime(r.startMs)},${r.startMs},${r.open},${r.high},${r.low},${r.close},${r.volume},${r.vwap},${r.trades},${r.complete}\n`;
}

/** The whole document: the header line, then one line per candle in the order given. */
export function candleCsv(rows: Iterable<CandleCsvRow>): string {
  let out = CANDLE_CSV_HEADER;
  for (const r of rows) out += candleCsvLine(r);
  return out;
}

/**
 * The file name an export suggests: `AAPL-min1-20261201T1430Z-20261203T2059Z.csv` (first and last candle
 * start, UTC, no colons: valid on every file system); `AAPL-min1-empty.csv` without candles. Characters a
 * file name should not hold (a space in "BRK B", "/" in a pair) become "_".
 */
export function candleCsvFileName(symbol: string, interval: string, firstMs: number | undefined, lastMs: number | undefined): string {
  const safe = (text: string) => text.replace(/[^A-Za-z0-9._-]/g, "_");
  const range = firstMs === undefined || lastMs === undefined ? "empty" : `${compactTime(firstMs)}-${compactTime(lastMs)}`;
  return `${safe(symbol)}-${safe(interval)}-${range}.csv`;
}

function compactTime(ms: number): string {
  // 2026-12-01T14:30:00.000Z → 20261201T1430Z (seconds kept when not zero: 20261201T143015Z).
  const iso = new Date(ms).toISOString();
  const seconds = iso.slice(17, 19);
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${seconds === "00" ? "" : seconds}Z`;
}
