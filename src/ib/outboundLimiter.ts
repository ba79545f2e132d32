import type { IBApi } from "@stoqey/ib";

/**
 * Our outbound token bucket in front of the Gateway socket: at most `perSecond` messages in any second
 * (IB allows 50; error 100, and after 3 violations the session is closed). It replaces @stoqey/ib's own
 * limiter, whose in-memory queue survives a disconnect: requests queued for a session that died were
 * written onto the next connection, under request ids nobody tracks any more (orphaned IB lines).
 * `clear()` drops what is queued when the connection is lost.
 */
export class OutboundLimiter {
  private readonly queue: unknown[][] = [];
  /** Send times within the last second, oldest first. */
  private readonly sent: number[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly write: (tokens: unknown[]) => void,
    private readonly perSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

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

  /** Drops everything queued (the session it was meant for is gone); returns how many messages. */
  clear(): number {
    const dropped = this.queue.length;
    this.queue.length = 0;
    clearTimeout(this.timer);
    this.timer = undefined;
    return dropped;
  }

  private take(): boolean {
    const now = this.now();
    while (this.sent.length > 0 && now - this.sent[0]! >= 1_000) this.sent.shift();
    if (this.sent.length >= this.perSecond) return false;
    this.sent.push(now);
    return true;
  }

  private arm(): void {
    if (this.timer !== undefined) return;
    const wait = Math.max(1, 1_000 - (this.now() - (this.sent[0] ?? this.now())));
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
  const limiter = new OutboundLimiter((tokens) => socket.send(tokens), perSecond);
  controller.rateLimiter = (tokens: unknown[]) => limiter.submit(tokens);
  return limiter;
}
