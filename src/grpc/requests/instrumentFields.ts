import type { InstrumentSpec as ProtoSpec } from "../../../gen/ibprovider/v1/types.js";
import { parseInstrumentSymbol, type InstrumentSpec } from "../../domain/instrumentSymbol.js";
import { CONNECTOR_TYPES, MARKET_TYPES, type MarketType } from "../../domain/marketType.js";
import { describeAcceptedIntervals, parseInterval, type Interval } from "../../domain/intervals.js";
import { echo, invalidArgument } from "../apiError.js";
import { checkSpecReadsBack, symbolOfSpec } from "./instrumentSpec.js";

/** Field checks shared by every request that names an instrument; each error names its field. */
export interface InstrumentRequest {
  connectorType: string;
  marketType: string;
  symbol: string;
  /** The structured form (gRPC), instead of `symbol`. */
  instrument?: ProtoSpec | undefined;
}

export function checkConnector(connectorType: string): void {
  if (!(CONNECTOR_TYPES as readonly string[]).includes(connectorType)) {
    throw invalidArgument("connector_type", `this service is the ${CONNECTOR_TYPES.map((c) => JSON.stringify(c)).join(", ")} connector (got ${echo(connectorType)})`, "UNKNOWN_CONNECTOR");
  }
}

export function checkMarketType(marketType: string): MarketType {
  if (!(MARKET_TYPES as readonly string[]).includes(marketType)) {
    throw invalidArgument("market_type", `expected one of ${MARKET_TYPES.join(", ")} (got ${echo(marketType)})`, "UNKNOWN_MARKET_TYPE");
  }
  return marketType as MarketType;
}

/** A symbol of the market in the symbol syntax (docs/instruments.md) → its canonical text and spec. */
export function checkSymbol(marketType: MarketType, symbol: string, field = "symbol"): { symbol: string; spec: InstrumentSpec } {
  if (symbol === "") throw invalidArgument(field, "required: a symbol such as AAPL, BTCUSDT, EURUSD, SPX, AAPL270115C00200000 or ES", "INVALID_SYMBOL");
  const parsed = parseInstrumentSymbol(marketType, symbol);
  if ("error" in parsed) throw invalidArgument(field, parsed.error, "INVALID_SYMBOL");
  return { symbol: parsed.text, spec: parsed.spec };
}

/** The instrument a request names, by `symbol` or (gRPC) `instrument`, never both. */
export function checkInstrument(request: InstrumentRequest): { marketType: MarketType; symbol: string; spec: InstrumentSpec } {
  checkConnector(request.connectorType);
  const marketType = checkMarketType(request.marketType);
  if (request.instrument !== undefined) {
    if (request.symbol !== "") throw invalidArgument("instrument", `name the instrument by symbol or by instrument, not both (symbol ${echo(request.symbol)})`, "INVALID_SYMBOL");
    const checked = checkSymbol(marketType, symbolOfSpec(request.instrument), "instrument");
    checkSpecReadsBack(request.instrument, checked.spec);
    return { marketType, ...checked };
  }
  return { marketType, ...checkSymbol(marketType, request.symbol) };
}

export function checkInterval(text: string): Interval {
  const interval = parseInterval(text);
  if (interval === undefined) {
    throw invalidArgument("interval", `unknown interval ${echo(text)}; expected one of ${describeAcceptedIntervals()}`, "UNKNOWN_INTERVAL");
  }
  return interval;
}
