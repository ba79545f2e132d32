import { credentials, Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, expect, it } from "vitest";
import { MarketDataServiceClient } from "../../gen/ibprovider/v1/market_data_service.js";
import { SymbolServiceClient, type GetOptionChainResponse } from "../../gen/ibprovider/v1/symbol_service.js";
import { OptionRight } from "../../gen/ibprovider/v1/types.js";
import { startTestApp, type TestApp } from "../testing/testApp.js";
import { readRichStatus } from "./statusDetails.js";

// Issue 18: an account without option market data permissions (the simulator answers IB's 354 to option
// lines): a stream on an option ends with PERMISSION_DENIED naming IB's code, and a chain snapshot lists every
// option as missing with that reason instead of failing, while the underlying is still quoted.
let testApp: TestApp;
let md: MarketDataServiceClient;
let symbols: SymbolServiceClient;

beforeAll(async () => {
  testApp = await startTestApp({ simulator: { seed: 3, optionDataPermission: false } });
  md = new MarketDataServiceClient(testApp.grpcAddress, credentials.createInsecure());
  symbols = new SymbolServiceClient(testApp.grpcAddress, credentials.createInsecure());
}, 30_000);

afterAll(async () => {
  md?.close();
  symbols?.close();
  await testApp?.stop();
});

const spot = { connectorType: "ib", marketType: "spot" };

it("ends an option stream with PERMISSION_DENIED and IB's 354; a chain snapshot reports each option missing with the reason", async () => {
  const chain = await new Promise<GetOptionChainResponse>((resolve, reject) =>
    symbols.getOptionChain({ ...spot, underlying: "AAPL", exchange: "SMART", tradingClass: "AAPL" }, (err, res) => (err ? reject(err) : resolve(res))),
  );
  const row = chain.rows[0]!;
  const expiry = row.expirations[1]!;
  const strike = row.strikes[Math.floor(row.strikes.length / 2)]!;
  const symbol = `AAPL${expiry.slice(2)}C${String(Number(strike) * 1000).padStart(8, "0")}`;
  const stream = md.streamTicks({ ...spot, symbol }, new Metadata());
  stream.on("data", () => undefined);
  const err = await new Promise<ServiceError>((resolve) => stream.on("error", resolve));
  const info = readRichStatus(err)?.errorInfo;
  expect({ code: err.code, reason: info?.reason, ibCode: info?.metadata.ibCode }).toEqual({ code: status.PERMISSION_DENIED, reason: "MARKET_DATA_SUBSCRIPTION_REQUIRED", ibCode: "354" });

  const quotes = await new Promise<{ quotes: unknown[]; missing: { symbol: string; reason: string }[]; underlyingPrice: string }>((resolve, reject) =>
    md.getOptionChainQuotes(
      { ...spot, underlying: "AAPL", expirations: [expiry], tradingClass: "", strikesAround: 3, strikeMin: "", strikeMax: "", right: OptionRight.OPTION_RIGHT_PUT, maxLines: 0, symbols: [] },
      (e, res) => (e ? reject(e) : resolve(res)),
    ),
  );
  expect(quotes.quotes).toEqual([]);
  expect(quotes.missing).toHaveLength(3);
  for (const m of quotes.missing) expect(m.reason).toMatch(/not subscribed|permission/i);
  expect(Number(quotes.underlyingPrice)).toBeGreaterThan(0);
});
