import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { CANDLE_CSV_HEADER, candleCsv, candleCsvFileName, candleCsvLine, type CandleCsvRow } from "../domain/candleCsv.js";
import type { ResponseRenderer } from "./responseRenderer.js";

/**
 * GetCandles as CSV (`?format=csv` or `Accept: text/csv`): the one place of the bridge that knows what a
 * candle is. It reads the answer's canonical JSON, so every decimal is the JSON form's own string, and
 * writes it with the store CLI's writer (domain/candleCsv.ts). A small answer is written in one go; a
 * large one (a year of min1) a page of rows at a time, the file name from its first and last candle.
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
    return { body: candleCsv(rows), headers: contentDisposition(request, candles[0], candles[candles.length - 1]) };
  },
  renderPaged(response, request) {
    const candles = response.lists.get("candles");
    const count = candles?.length ?? 0;
    const first = count === 0 ? undefined : candles!.at(0);
    const last = count === 0 ? undefined : candles!.at(count - 1);
    async function* chunks(): AsyncGenerator<string> {
      let pending = CANDLE_CSV_HEADER;
      if (candles !== undefined) {
        for await (const page of candles.pages()) {
          for (const candle of page) pending += candleCsvLine(rowOf(candle));
          yield pending;
          pending = "";
        }
      }
      if (pending !== "") yield pending;
    }
    return { chunks: chunks(), headers: contentDisposition(request, first, last) };
  },
};

/** The file name from the first and last candle; they name the canonical interval ("min1" for a request's "1m"), without any the request's own words. */
function contentDisposition(request: JsonObject, first: JsonValue | undefined, last: JsonValue | undefined): Record<string, string> {
  const symbol = stringOf(first === undefined ? field(request, "symbol") : field(first, "symbol"));
  const interval = stringOf(first === undefined ? field(request, "interval") : field(first, "interval"));
  const startMs = (candle: JsonValue | undefined) => (candle === undefined ? undefined : rowOf(candle).startMs);
  const fileName = candleCsvFileName(symbol, interval, startMs(first), startMs(last));
  return { "Content-Disposition": `attachment; filename="${fileName}"` };
}

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
