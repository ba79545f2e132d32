import { CONNECTOR_TYPES, MARKET_TYPES, type MarketType } from "../../domain/marketType.js";
import { describeAcceptedIntervals, parseInterval, type Interval } from "../../domain/intervals.js";
import { echo, invalidArgument } from "../apiError.js";

/** Field checks shared by every request that names an instrument; each error names its field. */
export interface InstrumentRequest {
  connectorType: string;
  marketType: string;
  symbol: string;
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

export function checkSymbol(symbol: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._\-/ ]{0,31}$/.test(symbol)) {
    throw invalidArgument("symbol", `expected a symbol such as BTCUSDT, AAPL, EURUSD or ES (got ${echo(symbol)})`, "INVALID_SYMBOL");
  }
  return symbol.toUpperCase();
}

export function checkInstrument(request: InstrumentRequest): { marketType: MarketType; symbol: string } {
  checkConnector(request.connectorType);
  return { marketType: checkMarketType(request.marketType), symbol: checkSymbol(request.symbol) };
}

export function checkInterval(text: string): Interval {
  const interval = parseInterval(text);
  if (interval === undefined) {
    throw invalidArgument("interval", `unknown interval ${echo(text)}; expected one of ${describeAcceptedIntervals()}`, "UNKNOWN_INTERVAL");
  }
  return interval;
}
