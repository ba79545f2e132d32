/**
 * Child process of the benchmark: the same server stream served by two handler layers over grpc-js, to
 * decide between them by measurement: our own (src/grpc/handlers.ts `serverStream`, what the service
 * uses) and nice-grpc's server. Both serve MarketDataService.StreamTicks through `acceptPreEncoded`, and
 * their handlers are the same async generator yielding one pre-encoded one-tick message after another
 * until the call ends: what differs is only the layer between a generator and grpc-js.
 * IPC: sends { type: "ready", ownPort, nicePort }; answers { type: "probe" } with { rssMB }; "stop" exits.
 */
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { createServer } from "nice-grpc";
import { MarketDataServiceService, StreamTicksResponse } from "../gen/ibprovider/v1/market_data_service.js";
import { MarketDataType } from "../gen/ibprovider/v1/types.js";
import { CallRegistry } from "../src/grpc/callContext.js";
import { serverStream, type HandlerDeps } from "../src/grpc/handlers.js";
import { acceptPreEncoded } from "../src/grpc/streamEncoding.js";
import { createLogger } from "../src/log/logger.js";
import { DEFAULT_STREAM_SETTINGS } from "../src/stream/streamSettings.js";

const send = (m: unknown) => process.send?.(m);

/** A realistic message: one L1 tick, as the service sends to a subscriber that keeps up. */
const encoded = Buffer.from(
  StreamTicksResponse.encode({
    events: [
      {
        sequence: "123456",
        event: {
          $case: "tick",
          value: {
            symbol: "BTCUSDT",
            time: { seconds: "1795564800", nanos: 123_000_000 },
            bid: "90123.25",
            bidSize: "1.2345",
            ask: "90123.5",
            askSize: "0.75",
            last: "90123.25",
            lastSize: "0.01",
            volume: "1234.5678",
            marketDataType: MarketDataType.MARKET_DATA_TYPE_LIVE,
            optionComputations: [],
          },
        },
      },
    ],
  }).finish(),
);

async function* ticks(signal: AbortSignal): AsyncGenerator<Buffer> {
  while (!signal.aborted) yield encoded;
}

// Just the one method (nice-grpc wants an implementation for every method of a definition).
const definition = acceptPreEncoded({ streamTicks: MarketDataServiceService.streamTicks });

// Our layer.
const deps: HandlerDeps = { calls: new CallRegistry(), log: createLogger("silent"), streams: DEFAULT_STREAM_SETTINGS };
const own = new Server();
own.addService(definition, { streamTicks: serverStream("ibprovider.v1.MarketDataService.StreamTicks", (_req, ctx) => ticks(ctx.signal), deps) });
const ownPort = await new Promise<number>((resolve, reject) =>
  own.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
);

// nice-grpc's layer, same definition (it accepts grpc-js definitions), same generator.
const nice = createServer();
nice.add(definition, {
  // nice-grpc types the yield as StreamTicksResponse; acceptPreEncoded passes the Buffer through.
  streamTicks: (_req: unknown, ctx: { signal: AbortSignal }) => ticks(ctx.signal) as unknown as AsyncIterable<StreamTicksResponse>,
} as never);
const nicePort = await nice.listen("127.0.0.1:0");

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  own.forceShutdown();
  nice.forceShutdown();
  process.exit(0);
};
process.on("message", (m: { type: string; id?: number }) => {
  if (m.type === "stop") stop();
  else if (m.type === "probe") send({ type: "probe", id: m.id, rssMB: Math.round((process.memoryUsage().rss / 1024 / 1024) * 10) / 10 });
});
process.on("disconnect", stop);
send({ type: "ready", ownPort, nicePort });
