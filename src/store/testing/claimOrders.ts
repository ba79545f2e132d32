/**
 * Child process of orderStore.test.ts: opens the store file, prints "ready", waits for a line on stdin (so
 * several children start claiming at once), then claims "shared" and `count` client order ids of its own
 * (retrying while another process holds the lock), printing one line per claim: "clientOrderId new orderId".
 * With "hold", it then waits to be killed instead of closing the store (a crash right after the claims,
 * before any checkpoint or clean close).
 * Arguments: path, process name, count, [hold].
 */
import { once } from "node:events";
import { dec } from "../../domain/decimal.js";
import { OrderStore, retryWhileBusy } from "../orderStore.js";

const [path, name, count, hold] = process.argv.slice(2) as [string, string, string, string | undefined];
const store = OrderStore.open(path);
const request = (clientOrderId: string) => ({
  clientOrderId,
  account: "DU1",
  instrument: { conId: 265598, symbol: "AAPL", secType: "STK", exchange: "SMART", currency: "USD" },
  side: "BUY" as const,
  quantity: dec("1"),
  type: "MKT" as const,
  tif: "DAY" as const,
  outsideRth: false,
});

async function main(): Promise<void> {
  process.stdout.write("ready\n");
  await once(process.stdin, "data");
  const ids = ["shared", ...Array.from({ length: Number(count) }, (_, i) => `${name}-${i}`)];
  const lines: string[] = [];
  for (const id of ids) {
    const claimed = await retryWhileBusy(() => store.claim(request(id), { nextValidId: 100 }), 10_000);
    lines.push(`${id} ${claimed.new} ${claimed.order.orderId}`);
  }
  process.stdout.write(`${lines.join("\n")}\n`);
  if (hold === "hold") setInterval(() => undefined, 60_000);
  else store.close();
  process.stdin.destroy();
}
void main();
