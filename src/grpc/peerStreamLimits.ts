import { ApiError } from "./apiError.js";

/**
 * Open streams allowed per HTTP/2 connection and in total, for a kind of stream anyone can open without a
 * token (health Watch, reflection): without a bound, whoever can connect could hold unbounded server memory
 * (15,000 Watch streams on one connection once took 542 MB).
 */
export interface StreamLimits {
  perConnection: number;
  total: number;
}

/** Why a stream was refused: the limit and whether it is the connection's or the server's. */
export type StreamLimitRefusal = (scope: "connection" | "server", limit: number) => ApiError;

/**
 * Counts the open streams of one kind by connection (the peer's address and port: one TCP connection) and
 * in total. Not by client: these streams are open without a token. The REST bridge reaches the gRPC
 * server over one channel, so a kind it forwarded would share one connection's bound among all REST
 * callers; it forwards neither health Watch nor reflection.
 */
export class PeerStreamLimits {
  private readonly byPeer = new Map<string, number>();
  private count = 0;

  constructor(
    private readonly limits: StreamLimits,
    private readonly refusal: StreamLimitRefusal,
  ) {}

  /** Open streams: in total, and on the busiest connection. */
  get open(): { total: number; maxPerConnection: number } {
    return { total: this.count, maxPerConnection: Math.max(0, ...this.byPeer.values()) };
  }

  /** Takes a place for a stream on `peer`'s connection: the function that gives it back (once), or the refusal. */
  admit(peer: string): (() => void) | ApiError {
    const onConnection = this.byPeer.get(peer) ?? 0;
    const { perConnection, total } = this.limits;
    if (onConnection >= perConnection) return this.refusal("connection", perConnection);
    if (this.count >= total) return this.refusal("server", total);
    this.byPeer.set(peer, onConnection + 1);
    this.count++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.count--;
      const left = (this.byPeer.get(peer) ?? 1) - 1;
      if (left > 0) this.byPeer.set(peer, left);
      else this.byPeer.delete(peer);
    };
  }
}
