import type { FeedCodec } from "../feedRecorder.js";
import type { OverflowPolicy } from "../overflowPolicy.js";
import type { FeedSink, FeedSource } from "../feedSource.js";

/** The seam for the replay tests' upstream: a FeedSource the test plays through its sink; `state` is what a joiner (or a snapshot) gets. */
export class PlayedSource implements FeedSource<number> {
  sink: FeedSink<number> | undefined;
  state: number[] = [];
  constructor(readonly overflow: OverflowPolicy = "fail") {}
  open(sink: FeedSink<number>) {
    this.sink = sink;
    return { close: () => (this.sink = undefined) };
  }
  joinEvents(): number[] {
    return [...this.state];
  }
}

/** Recorded bytes as text: data "d<value>#<seq>", a status its kind. */
export const textCodec: FeedCodec<number> = (events) => events.map((e) => new TextEncoder().encode(e.type === "data" ? `d${e.value}#${e.seq}` : e.type === "status" ? e.status.kind : "?"));
