/** IB error codes and texts as TWS sends them (tws-protocol.md §3). */
export const ERR = {
  RATE: { code: 100, text: "Max rate of messages per second has been exceeded." },
  MAX_TICKERS: { code: 101, text: "Max number of tickers has been reached." },
  DUPLICATE_ID: { code: 102, text: "Duplicate ticker ID." },
  HMDS: { code: 162, text: "Historical Market Data Service error message:" },
  HMDS_QUERY: { code: 165, text: "Historical Market Data Service query message:" },
  NO_SECDEF: { code: 200, text: "No security definition has been found for the request" },
  NO_EID: { code: 300, text: "Can't find EId with tickerId:" },
  MAX_DEPTH: { code: 309, text: "Max number (3) of market depth requests has been reached" },
  NO_DEPTH: { code: 310, text: "Can't find the subscribed market depth with tickerId:" },
  DEPTH_RESET: {
    code: 317,
    text: "Market depth data has been RESET. Please empty deep book contents before applying any new entries.",
  },
  VALIDATION: { code: 321, text: "Error validating request:" },
  PROCESSING: { code: 322, text: "Error processing request:" },
  CLIENT_ID_IN_USE: {
    code: 326,
    text: "Unable to connect as the client id is already in use. Retry with a unique client id.",
  },
  NOT_SUBSCRIBED: { code: 354, text: "Requested market data is not subscribed." },
  NO_HIST_QUERY: { code: 366, text: "No historical data query found for ticker id:" },
  CONNECTIVITY_LOST: { code: 1100, text: "Connectivity between IB and Trader Workstation has been lost." },
  RESTORED_DATA_LOST: { code: 1101, text: "Connectivity between IB and TWS has been restored - data lost." },
  RESTORED_DATA_KEPT: { code: 1102, text: "Connectivity between IB and TWS has been restored - data maintained." },
  MD_FARM_OK: { code: 2104, text: "Market data farm connection is OK:usfarm" },
  HMDS_FARM_OK: { code: 2106, text: "HMDS data farm connection is OK:ushmds" },
  SECDEF_FARM_OK: { code: 2158, text: "Sec-def data farm connection is OK:secdefnj" },
  /**
   * How the simulator identifies itself on the wire: a farm-status message (id -1, informational for every
   * client) naming a farm no real Gateway has. Sent first after START_API, so an adapter knows before
   * nextValidId that it talks to a simulator (src/ib/connection/gatewayStatus.ts reads it).
   */
  SIMULATOR_IDENTITY: { code: 2104, text: "Market data farm connection is OK:ib-provider-simulator" },
  /**
   * A data request for an instrument with fractional sizes (crypto) from a client below server version 163,
   * which can only read whole sizes: refused rather than served with sizes truncated to 0.
   */
  FRACTIONAL_SIZES_UNSUPPORTED: {
    code: 10285,
    text: "Your API version does not support fractional size rules. Please upgrade to a minimum version 163.",
  },
  /** To a pre-v100 client, in its own unframed format, before closing (session.ts). */
  LEGACY_CLIENT: {
    code: 506,
    text: "Unsupported version: this Gateway serves TWS API clients of version 100 or later (the V100+ handshake). Please upgrade the API client.",
  },
  NEEDS_SUBSCRIPTION: {
    code: 10089,
    text:
      "Requested market data requires additional subscription for API. See link in 'Market Data Connections' dialog for more details. Delayed market data is available.",
  },
  DISPLAYING_DELAYED: { code: 10167, text: "Requested market data is not subscribed. Displaying delayed market data." },
  /** Tick-by-tick for a contract without such data (an index; Last/AllLast of a bond, which prints no trades). */
  TBT_NOT_SUPPORTED: { code: 10189, text: "Failed to request tick-by-tick data." },
  /** Depth for a contract without a book (an index). */
  DEPTH_NOT_SUPPORTED: { code: 10092, text: "Deep market data is not supported for this combination of security type/exchange" },
  MAX_TBT: { code: 10190, text: "Max number of tick-by-tick requests has been reached." },
  COMPETING_SESSION: { code: 10197, text: "No market data during competing live session" },
  CRYPTO_TRADES: { code: 10299, text: "Expected what to show is AGGTRADES, please use that instead of TRADES." },
} as const;

export interface IbError {
  code: number;
  text: string;
}

export const PACING_VIOLATION = "Historical data request pacing violation";
