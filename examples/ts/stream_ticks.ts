/**
 * ib-provider from TypeScript with src/client: the runtime proof, a day of h1 candles as Decimals, then
 * L1 ticks that survive reconnects (restart `npm start` while it runs: it reconnects after the last tick it
 * printed and the service replays what it missed; a gap is printed only when the service no longer has it).
 *
 *   npx tsx examples/ts/stream_ticks.ts BTCUSDT 20      # symbol, ticks to print (0: until Ctrl-C)
 *
 * Environment: IB_PROVIDER_ADDR (default 127.0.0.1:50051), PROVIDER_API_TOKEN (when the server has one).
 */
import { GatewayMode } from "../../gen/ibprovider/v1/runtime_service.js";
import { StreamStatusKind } from "../../gen/ibprovider/v1/types.js";
import { ApiDecimal, createIbProviderClient, spreadOf, withDecimals } from "../../src/client/index.js";

const symbol = process.argv[2] ?? "BTCUSDT";
const limit = Number(process.argv[3] ?? "0");

const client = createIbProviderClient({ address: process.env.IB_PROVIDER_ADDR, token: process.env.PROVIDER_API_TOKEN });
// Ctrl-C ends the stream cleanly: the service releases the IB subscription.
const stop = new AbortController();
process.once("SIGINT", () => stop.abort());

try {
  const proof = await client.runtime.getRuntimeProof();
  console.log(`gateway: ${GatewayMode[proof.gatewayMode]} ${proof.gatewayAddress}, server version ${proof.serverVersion}`);

  const { candles } = await client.marketData.getCandles({ symbol, interval: "h1", days: 1 });
  const closes = candles.map((c) => withDecimals(c, ["open", "high", "low", "close", "volume"]));
  const volume = closes.reduce((sum, c) => sum.plus(c.volume ?? 0), new ApiDecimal(0));
  console.log(`${candles.length} h1 candles, last close ${closes.at(-1)?.close?.toFixed() ?? "-"}, volume ${volume.toFixed()}`);

  let printed = 0;
  for await (const item of client.marketData.streamTicks({ symbol }, { signal: stop.signal })) {
    if (item.kind === "reconnecting") {
      console.log(`reconnecting in ${item.delayMs} ms (attempt ${item.attempt}): ${item.error.details}`);
    } else if (item.kind === "gap") {
      // cause sequence ("jumped: N missed"), restarted ("restarted: new epoch …"), server (a GAP status), reconnected
      console.log(`gap (${item.cause}): ${item.message ?? `${item.missed ?? "unknown number of"} ticks missed`}`);
    } else if (item.event.event?.$case === "tick") {
      const tick = item.event.event.value;
      console.log(`#${item.sequence} ${tick.symbol} bid ${tick.bid || "-"} ask ${tick.ask || "-"} spread ${spreadOf(tick)?.toFixed() ?? "-"}`);
      if (++printed === limit) break; // leaving the loop cancels the call
    } else if (item.event.event?.$case === "status") {
      console.log(`status ${StreamStatusKind[item.event.event.value.kind]}: ${item.event.event.value.message}`);
    }
  }
} finally {
  client.close();
}
