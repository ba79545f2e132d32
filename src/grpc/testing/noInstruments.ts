import { IbError } from "../../ib/ibErrors.js";
import type { AccountSource } from "../services/accountService.js";
import type { MarketDataSource } from "../services/marketDataService.js";
import type { InstrumentSource } from "../services/symbolService.js";
import type { DiscoverySource } from "../services/discoverySource.js";

/**
 * Test seam for server-level tests (auth, health, shutdown, validation): an adapter that knows no
 * instrument and has no account. The adapter itself is tested against the simulated Gateway in src/ib and end to end.
 */
const notFound = () => Promise.reject(new IbError("not-found", "no such symbol", 200));

const notConnected = () => {
  throw new IbError("unavailable", "not connected");
};

export const noInstruments: InstrumentSource & DiscoverySource & MarketDataSource & AccountSource = {
  status: {
    mode: "simulator", host: "127.0.0.1", port: 0, clientId: 0, state: "disconnected", serverVersion: 0, connectionTime: "",
    managedAccounts: [], activeAccount: undefined, isPaper: true, connectedSince: undefined, reconnectCount: 0, lastError: undefined, ibConnectivity: false,
  },
  accountState: () => Promise.reject(new IbError("unavailable", "not connected")),
  streamAccount: notConnected,
  resolve: notFound,
  knownInstrument: () => undefined,
  streamTicks: notFound,
  streamTrades: notFound,
  streamOrderBook: notFound,
  orderBookSnapshot: notFound,
  candlePages: notFound,
  streamCandles: notFound,
  recentTrades: notFound,
  searchSymbols: () => Promise.resolve([]),
  optionChain: notFound,
  futuresExpiries: notFound,
  optionQuotes: notFound,
};
