/** What the backfill tests share: the scaled pacing, and Backfill / GetCandles calls over plain gRPC clients. */
import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { MarketDataServiceClient, type GetCandlesResponse } from "../../../../gen/ibprovider/v1/market_data_service.js";
import { startTestApp, type TestApp } from "../../../testing/testApp.js";
import type { BackfillRequest, BackfillResponse, BackfillSummary, StoreServiceClient } from "../../../../gen/ibprovider/v1/store_service.js";
import type { SimulatorOptions } from "../../../simulator/index.js";
import { timestampFromMs } from "../../mapping/protoTime.js";

/** IB's historical windows scaled down 200× on both sides (as candleCache.test.ts): 60 requests per 3 s. */
const SCALE = 200;
export const SIMULATOR: SimulatorOptions = { seed: 11, limits: { historicalWindowMs: 600_000 / SCALE, historicalIdenticalMs: 15_000 / SCALE, historicalSameContractMs: 2_000 / SCALE } };
export const PACING = { globalWindowMs: 600_000 / SCALE, identicalWindowMs: 15_000 / SCALE, sameContractWindowMs: 2_000 / SCALE, maxSendsPerSecond: 40, safetyMarginMs: 100, pacingBackoffMs: 10_000 / SCALE };

/** Every message of a backfill, and the error it ended with (if any); `onMessage` may cancel the call. */
export function runBackfill(client: StoreServiceClient, request: Partial<BackfillRequest>, onMessage?: (m: BackfillResponse, cancel: () => void) => void): Promise<{ messages: BackfillResponse[]; error: ServiceError | undefined }> {
  const call = client.backfill({ connectorType: "ib", marketType: "spot", symbols: [], interval: "", ...request }, new Metadata(), { deadline: Date.now() + 60_000 });
  const messages: BackfillResponse[] = [];
  return new Promise((resolve) => {
    call.on("data", (m: BackfillResponse) => {
      messages.push(m);
      onMessage?.(m, () => call.cancel());
    });
    call.on("error", (error: ServiceError) => resolve({ messages, error }));
    call.on("end", () => resolve({ messages, error: undefined }));
  });
}

/** The summary a backfill ended with (its last message), if it got that far. */
export function summaryOf(messages: BackfillResponse[]): BackfillSummary | undefined {
  const last = messages.at(-1)?.event;
  return last?.$case === "summary" ? last.value : undefined;
}

/** GetCandles' candles for a window, or its status code when it fails (e.g. NOT_FOUND for a window without bars). */
export function candlesOf(client: MarketDataServiceClient, symbol: string, interval: string, fromMs: number, toMs: number): Promise<GetCandlesResponse["candles"] | number> {
  return new Promise((resolve) =>
    client.getCandles({ connectorType: "ib", marketType: "spot", symbol, interval, from: timestampFromMs(fromMs), to: timestampFromMs(toMs) }, new Metadata(), { deadline: Date.now() + 30_000 }, (err, res) => resolve(err ? err.code : res!.candles)),
  );
}

/**
 * The window as a fresh service (an empty store, the same simulated market) downloads it from IB: the
 * reference a backfilled store must equal. The caller stops `app`.
 */
export async function freshDownload(symbols: readonly string[], interval: string, fromMs: number, toMs: number): Promise<{ app: TestApp; candles: (GetCandlesResponse["candles"] | number)[] }> {
  const app = await startTestApp({ simulator: SIMULATOR, historicalPacing: PACING, env: { PROVIDER_CONFIG_FILE: "bench/config.provider.json" } });
  const client = new MarketDataServiceClient(app.grpcAddress, credentials.createInsecure());
  try {
    return { app, candles: await Promise.all(symbols.map((s) => candlesOf(client, s, interval, fromMs, toMs))) };
  } finally {
    client.close();
  }
}
