/**
 * Market depth (reqMktDepth): a consistent positional book derived from the model's depth at the current
 * time. Single-exchange depth goes out as msg 12, SMART depth as msg 13 with the market maker.
 */
import * as msg from "../messages/outbound.js";
import { diffDepth } from "../market/index.js";
import type { DepthOperation, DepthSnapshot, InstrumentSpec } from "../market/types.js";
import type { FeedContext, Subscription } from "./feed.js";

export class DepthFeed implements Subscription {
  readonly kind = "depth" as const;
  stalledUntil = 0;
  private book: DepthSnapshot | undefined;

  constructor(
    private readonly ctx: FeedContext,
    readonly reqId: number,
    readonly instrument: InstrumentSpec,
    private readonly rows: number,
    readonly isSmartDepth: boolean,
  ) {}

  pump(nowMs: number): void {
    const next = this.ctx.market.depth(this.instrument, nowMs, this.rows);
    const ops = diffDepth(this.book ?? { timeMs: nowMs, bids: [], asks: [] }, next, this.rows);
    this.book = next;
    for (const op of ops) this.sendOp(op);
  }

  /** After error 317 the client empties its book: rebuild it from scratch on the next pump. */
  reset(): void {
    this.book = undefined;
  }

  private sendOp(op: DepthOperation): void {
    const { sv } = this.ctx;
    if (this.isSmartDepth) {
      this.ctx.send(msg.marketDepthL2(sv, this.reqId, op.position, op.marketMaker, op.operation, op.side, op.price, op.size, true));
    } else {
      this.ctx.send(msg.marketDepth(sv, this.reqId, op.position, op.operation, op.side, op.price, op.size));
    }
  }
}
