/**
 * Flood mode (option `flood`): a session's L1 ticks and tick-by-tick trades written as fast as the socket
 * accepts instead of on the pump's cadence, to measure what a client can decode (`npm run bench`). Hot
 * path: the work per tick is building and encoding its frame; keep anything else per batch or per turn.
 */
import { MarketDataFeed } from "./feeds/marketData.js";
import type { Subscription } from "./feeds/feed.js";
import { TickByTickFeed } from "./feeds/tickByTick.js";
import type { Session } from "./session.js";
import type { Field } from "./wire/fields.js";
import { encodeFrame } from "./wire/framing.js";

/** Batches written per turn of the event loop before yielding to input (requests, cancels) again. */
const ROUNDS_PER_TURN = 8;

/** What flood mode sends as fast as the socket accepts: L1 and tick-by-tick trades. */
export function isFlooded(s: Subscription): s is MarketDataFeed | TickByTickFeed {
  return s instanceof MarketDataFeed || (s instanceof TickByTickFeed && (s.type === "Last" || s.type === "AllLast"));
}

export class FloodPump {
  private running = false;
  private scheduled = false;
  /** Rate-limited flood: when it started (performance.now()) and frames sent since. */
  private startMs: number | undefined;
  private sent = 0;
  private readonly runScheduled = () => {
    this.scheduled = false;
    this.run();
  };
  private readonly schedule = () => {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.runScheduled);
  };

  constructor(private readonly session: Session) {}

  /** From the session's pump: starts flooding once a flooded subscription exists. */
  startIfNeeded(): void {
    if (this.running) return;
    for (const s of this.session.subs.values()) {
      if (isFlooded(s)) {
        this.running = true;
        this.schedule();
        return;
      }
    }
  }

  /** The socket took everything buffered: continue where write() said stop. */
  onDrain(): void {
    if (this.running) this.schedule();
  }

  /** Writes ticks until the socket says stop (then 'drain' resumes); with floodRatePerSec, no faster than that on average. */
  private run(): void {
    const session = this.session;
    const gateway = session.gateway;
    if (!session.isReady || !gateway.connected) {
      this.running = false;
      return;
    }
    const wall = Date.now();
    const feeds = [...session.subs.values()].filter((s): s is MarketDataFeed | TickByTickFeed => isFlooded(s) && wall >= s.stalledUntil);
    if (feeds.length === 0 || wall < session.stalledUntil) {
      this.running = false;
      return;
    }
    const { floodRatePerSec, floodStampSizes } = gateway.options;
    const now = session.now();
    for (let round = 0; round < ROUNDS_PER_TURN; round++) {
      let batch = gateway.options.floodBatch;
      if (floodRatePerSec !== undefined) {
        this.startMs ??= performance.now();
        const due = Math.floor(((performance.now() - this.startMs) * floodRatePerSec) / 1000) - this.sent;
        if (due <= 0) {
          setTimeout(this.schedule, 1);
          return;
        }
        batch = Math.max(1, Math.min(batch, Math.ceil(due / feeds.length)));
      }
      // Optional send stamp (µs since epoch) in the size field, for latency measurements.
      const stamp = floodStampSizes ? String(Math.round((performance.timeOrigin + performance.now()) * 1000)) : undefined;
      const frames: Field[][] = [];
      for (const f of feeds) f.floodFrames(now, batch, frames, stamp);
      const buf = Buffer.concat(frames.map((fr) => encodeFrame(fr)));
      gateway.stats.floodTicks += frames.length;
      this.sent += frames.length;
      if (!session.socket.write(buf)) return; // resumes on 'drain'
    }
    this.schedule();
  }
}
