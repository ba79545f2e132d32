import type { IBApi } from "@stoqey/ib";
import { ibMessagesOut } from "../../metrics/metrics.js";

/**
 * Our outbound token bucket in front of the Gateway socket: `perSecond` messages a second on average, in
 * bursts of at most `burst` (IB allows 50/s; error 100, and after 3 violations the session is closed).
 * A small bucket spaces messages out instead of sending a second's worth at once: arrivals bunched by
 * the network or a busy Gateway then still stay under IB's count.
 *
 * It replaces @stoqey/ib's own limiter, whose in-memory queue survives a disconnect: requests queued for a
 * session that died were written onto the next connection, under request ids nobody tracks any more
 * (orphaned IB lines). `clear()` drops what is queued when the connection is lost.
 */
export class OutboundLimiter {
  private readonly queue: unknown[][] = [];
  private tokens: number;
  private refilledAt: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly write: (tokens: unknown[]) => void,
    private readonly perSecond: number,
    private readonly burst = 5,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burst;
    this.refilledAt = now();
  }

  get queued(): number {
    return this.queue.length;
  }

  submit(tokens: unknown[]): void {
    if (this.queue.length === 0 && this.take()) this.write(tokens);
    else {
      this.queue.push(tokens);
      this.arm();
    }
  }

  /** About how long a message submitted now would wait before it is written (0 when it goes at once). */
  backlogMs(): number {
    this.refill();
    const ahead = this.queue.length + 1 - Math.floor(this.tokens);
    return ahead <= 0 ? 0 : Math.ceil((ahead / this.perSecond) * 1_000);
  }

  /** Drops everything queued (the session it was meant for is gone); returns how many messages. */
  clear(): number {
    const dropped = this.queue.length;
    this.queue.length = 0;
    clearTimeout(this.timer);
    this.timer = undefined;
    return dropped;
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) * this.perSecond) / 1_000);
    this.refilledAt = now;
  }

  private take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private arm(): void {
    if (this.timer !== undefined) return;
    this.refill();
    const wait = Math.max(1, Math.ceil(((1 - this.tokens) / this.perSecond) * 1_000));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      while (this.queue.length > 0 && this.take()) this.write(this.queue.shift()!);
      if (this.queue.length > 0) this.arm();
    }, wait);
    this.timer.unref();
  }
}

/**
 * Puts an OutboundLimiter in place of @stoqey/ib's private `controller.rateLimiter` (the one function its
 * controller sends every message through; checked against 1.6.10, which package.json pins).
 */
export function installOutboundLimiter(api: IBApi, perSecond: number): OutboundLimiter {
  const controller = (api as unknown as { controller?: { rateLimiter?: unknown; socket?: { send(tokens: unknown[]): void } } }).controller;
  if (controller?.socket === undefined || typeof controller.rateLimiter !== "function") {
    throw new Error("@stoqey/ib internals changed: cannot install the outbound limiter (controller.rateLimiter)");
  }
  const socket = controller.socket;
  const limiter = new OutboundLimiter((tokens) => {
    socket.send(tokens);
    ibMessagesOut.inc();
  }, perSecond);
  controller.rateLimiter = (tokens: unknown[]) => limiter.submit(tokens);
  return limiter;
}
