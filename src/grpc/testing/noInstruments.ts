import { IbError } from "../../ib/ibErrors.js";
import type { MarketDataSource } from "../services/marketDataService.js";
import type { InstrumentSource } from "../services/symbolService.js";

/**
 * Test seam for server-level tests (auth, health, shutdown, validation): an adapter that knows no
 * instrument. The adapter itself is tested against the simulated Gateway in src/ib and end to end.
 */
const notFound = () => Promise.reject(new IbError("not-found", "no such symbol", 200));

export const noInstruments: InstrumentSource & MarketDataSource = {
  resolve: notFound,
  streamTicks: notFound,
  streamTrades: notFound,
  streamOrderBook: notFound,
  orderBookSnapshot: notFound,
};
