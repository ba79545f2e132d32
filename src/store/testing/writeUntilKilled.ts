/**
 * Child process of crashSafety.test.ts: writes one covered hour of min1 bars per write and records 500 events
 * of a feed (the event writer's thread), forever, printing the number of hours and the last event sequence
 * committed ("hours seq") now and then, until it is killed.
 */
import { dec } from "../../domain/decimal.js";
import { MarketStore } from "../marketStore.js";

const path = process.argv[2]!;
const store = MarketStore.open(path);
const key = { conId: 1, interval: "min1" as const, whatToShow: "TRADES", rth: false, symbol: "CRASH", timeZone: "UTC" };
const HOUR = 3_600_000;
const journal = store.events.openFeed("trade:CRASH", "trade", "CRASH", Date.now());
let seq = 0;

async function main(): Promise<void> {
  for (let hour = 0; ; hour++) {
    const bars = Array.from({ length: 60 }, (_, m) => ({ startMs: hour * HOUR + m * 60_000, open: dec("1.5"), high: dec("2.25"), low: dec("1"), close: dec("2"), volume: dec(String(hour)), count: m, complete: true }));
    // Several hours per turn keep the writer busy, so the kill lands inside a transaction now and then.
    const writes = [store.candles.write(key, bars, { covered: { fromMs: hour * HOUR, toMs: (hour + 1) * HOUR } }, Date.now())];
    journal.append(Array.from({ length: 500 }, () => ({ seq: ++seq, sub: 0, timeMs: Date.now(), kind: "data" as const, bytes: Buffer.from(`event ${seq}`) })));
    if (hour % 8 !== 7) continue;
    const recorded = seq;
    await Promise.all([...writes, new Promise<void>((resolve) => journal.whenCommitted(resolve))]);
    process.stdout.write(`${hour + 1} ${recorded}\n`);
  }
}
void main();
