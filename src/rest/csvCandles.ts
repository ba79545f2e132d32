import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { candleCsv, candleCsvFileName, type CandleCsvRow } from "../domain/candleCsv.js";
import type { ResponseRenderer } from "./responseRenderer.js";

/**
 * GetCandles as CSV (`?format=csv` or `Accept: text/csv`): the one place of the bridge that knows what a
 * candle is. It reads the answer's canonical JSON, so every decimal is the JSON form's own string, and
 * writes it with the store CLI's writer (domain/candleCsv.ts). Written in one go: the unary answer is one
 * gRPC message, already whole in memory when it arrives.
 */
export const candlesCsvRenderer: ResponseRenderer = {
  grpcPath: "/ibprovider.v1.MarketDataService/GetCandles",
  format: "csv",
  mediaType: "text/csv",
  description:
    "The candles as CSV (`?format=csv` or `Accept: text/csv`): a header line, then `time` (RFC 3339, UTC), `time_ms` (unix milliseconds), `open`, `high`, `low`, `close`, `volume`, `vwap`, `trades`, `complete` per candle, decimals exactly as in JSON. Errors stay JSON.",
  render(response, request) {
    const candles = arrayOf(field(response, "candles"));
    const rows = candles.map(rowOf);
    // The candles name the canonical interval ("min1" for a request's "1m"); without any, the request's own words.
    const first = candles[0];
    const symbol = stringOf(first === undefined ? field(request, "symbol") : field(first, "symbol"));
    const interval = stringOf(first === undefined ? field(request, "interval") : field(first, "interval"));
    const fileName = candleCsvFileName(symbol, interval, rows[0]?.startMs, rows[rows.length - 1]?.startMs);
    return { body: candleCsv(rows), headers: { "Content-Disposition": `attachment; filename="${fileName}"` } };
  },
};

/** One candle of GetCandlesResponse's canonical JSON (alwaysEmitImplicit: every field is there). */
function rowOf(candle: JsonValue): CandleCsvRow {
  const time = Date.parse(stringOf(field(candle, "time")));
  if (!Number.isFinite(time)) throw new Error("a candle without a time");
  return {
    startMs: time,
    open: stringOf(field(candle, "open")),
    high: stringOf(field(candle, "high")),
    low: stringOf(field(candle, "low")),
    close: stringOf(field(candle, "close")),
    volume: stringOf(field(candle, "volume")),
    vwap: stringOf(field(candle, "vwap")),
    trades: stringOf(field(candle, "tradeCount")),
    complete: field(candle, "isComplete") === true,
  };
}

function field(value: JsonValue | undefined, name: string): JsonValue | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as JsonObject)[name] : undefined;
}

function arrayOf(value: JsonValue | undefined): JsonValue[] {
  return Array.isArray(value) ? value : [];
}

function stringOf(value: JsonValue | undefined): string {
  return typeof value === "string" ? value : typeof value === "number" ? String(value) : "";
}
