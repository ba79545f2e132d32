import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { readFeed, type FeedMessage } from "./feedReader.js";

/**
 * One JetStream consumer per feed per edge, however many of its clients read the feed: each client's
 * stream reads the feed's messages from a shared tail (the newest messages, kept a little while), and
 * only a client that starts before the tail's messages (a resume) or falls behind them (a slow client)
 * reads its own consumer — until it has caught up with the tail, where it joins it again. With a consumer
 * per client, nats-server sent every message once per client over the edge's one connection: at 500
 * clients of a busy feed it cut the edge off as a slow consumer (BENCHMARKS.md).
 */

/** How many of a feed's newest messages a tail keeps for its readers (a message is one flush of the feed, ≈ 5 ms), and at most how many bytes. */
const TAIL_MESSAGES = 2_048;
const TAIL_BYTES = 16 * 1024 * 1024;
/** A tail nobody reads is closed after this long (a client reconnecting at once finds it still there). */
const LINGER_MS = 5_000;
/** A reader's consumer failing this many times in a row (no message between; ≈ 11 s of backing off) ends its stream. */
const MAX_FAILURES = 8;

/** Waits before trying again: 200 ms doubling to 2 s. */
function backOff(failures: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.min(2_000, 100 * 2 ** Math.max(1, failures))));
}

type Read = (streamSeq: number, signal: AbortSignal) => AsyncIterable<FeedMessage>;

class FeedTail {
  private readonly messages: FeedMessage[] = [];
  private readonly abort = new AbortController();
  private wakers = new Set<() => void>();
  private readers = 0;
  private linger: NodeJS.Timeout | undefined;
  private failure: unknown;
  /** The stream sequence of the newest message dropped from the tail (0: none yet). */
  private droppedUpTo = 0;
  private bytes = 0;
  closed = false;

  constructor(
    /** The stream sequence the tail's consumer started at: it holds every message of the feed from there (until they roll off). */
    readonly startSeq: number,
    read: Read,
    private readonly onClose: () => void,
  ) {
    void (async () => {
      try {
        for await (const m of read(startSeq, this.abort.signal)) {
          this.messages.push(m);
          this.bytes += sizeOf(m);
          let drop = 0;
          let dropped = 0;
          while (this.messages.length - drop > 1 && (this.messages.length - drop > TAIL_MESSAGES || this.bytes - dropped > TAIL_BYTES)) dropped += sizeOf(this.messages[drop++]!);
          if (drop > 0) {
            this.droppedUpTo = this.messages.splice(0, drop).at(-1)!.streamSeq;
            this.bytes -= dropped;
          }
          this.wake();
        }
      } catch (err) {
        this.failure = err;
      } finally {
        this.closed = true;
        this.wake();
        this.onClose();
      }
    })();
  }

  /** From which stream sequence on the tail holds (or will hold) every message of the feed. */
  get oldestSeq(): number {
    return this.droppedUpTo === 0 ? this.startSeq : this.droppedUpTo + 1;
  }

  /** The tail's messages after `afterSeq`, when there are any (undefined: none yet). */
  after(afterSeq: number): FeedMessage[] | undefined {
    const { messages } = this;
    let lo = 0;
    let hi = messages.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (messages[mid]!.streamSeq <= afterSeq) lo = mid + 1;
      else hi = mid;
    }
    return lo < messages.length ? messages.slice(lo) : undefined;
  }

  /** Resolves at the next message (or the tail's end). */
  next(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.wakers.delete(done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      this.wakers.add(done);
      signal.addEventListener("abort", done, { once: true });
    });
  }

  get error(): unknown {
    return this.failure;
  }

  join(): void {
    this.readers++;
    clearTimeout(this.linger);
    this.linger = undefined;
  }

  leave(): void {
    if (--this.readers > 0) return;
    this.linger = setTimeout(() => this.abort.abort(), LINGER_MS);
    this.linger.unref();
  }

  close(): void {
    this.abort.abort();
  }

  /** Closed or closing (its consumer aborted): a new reader makes a new one. */
  get closing(): boolean {
    return this.abort.signal.aborted;
  }

  private wake(): void {
    const wakers = this.wakers;
    this.wakers = new Set();
    for (const w of wakers) w();
  }
}

function sizeOf(m: FeedMessage): number {
  let n = 0;
  for (const row of m.rows) n += row.bytes.length;
  return n;
}

/** The tails of an edge's feeds, by stream and subject. */
export class FeedTails {
  private readonly tails = new Map<string, Promise<FeedTail>>();

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
  ) {}

  /**
   * The feed's messages from `streamSeq` on, live, until `signal` aborts: from the feed's tail when it holds
   * them, else from a consumer of this reader's own until it has caught up with the tail.
   */
  async *read(stream: string, subject: string, streamSeq: number, signal: AbortSignal): AsyncGenerator<FeedMessage> {
    /** The last stream sequence delivered: every message of the feed up to it was delivered, in order. */
    const at = { last: streamSeq - 1 };
    let failures = 0;
    while (!signal.aborted) {
      let tail: FeedTail;
      try {
        tail = await this.tailOf(stream, subject);
      } catch (err) {
        if (signal.aborted) return;
        if (++failures > MAX_FAILURES) throw err;
        await backOff(failures);
        continue;
      }
      tail.join();
      try {
        while (!signal.aborted && !tail.closed) {
          if (at.last + 1 < tail.oldestSeq) {
            // Before the tail's messages: this reader's own consumer, until it reaches them.
            for await (const m of this.catchUp(stream, subject, at, tail, signal)) {
              failures = 0;
              yield m;
            }
            continue;
          }
          const ready = tail.after(at.last);
          if (ready === undefined) {
            await tail.next(signal);
            continue;
          }
          failures = 0;
          const newest = ready[ready.length - 1]!;
          for (let i = 0; i < ready.length; i++) {
            const m = ready[i]!;
            // Behind the newest by the messages after it here (a reader starting in the tail is not caught up yet).
            yield m === newest ? m : { ...m, pending: newest.pending + ready.length - 1 - i };
            at.last = m.streamSeq;
            if (signal.aborted) return;
          }
        }
      } catch (err) {
        if (signal.aborted) return;
        if (++failures > MAX_FAILURES) throw err;
      } finally {
        tail.leave();
      }
      if (signal.aborted) return;
      // The tail's consumer failed or ended (the bus away too long, a reset): again from where this reader was.
      if (tail.error !== undefined && ++failures > MAX_FAILURES) throw tail.error;
      await backOff(failures);
    }
  }

  /**
   * The feed's running tail, or a new one starting after the subject's newest message stored now (a reader
   * further back catches up on its own consumer: a tail never replays history for everyone).
   */
  private tailOf(stream: string, subject: string): Promise<FeedTail> {
    const key = `${stream}\0${subject}`;
    const running = this.tails.get(key);
    if (running !== undefined) {
      return running.then((tail) => {
        if (!tail.closed && !tail.closing) return tail;
        if (this.tails.get(key) === running) this.tails.delete(key);
        return this.tailOf(stream, subject);
      });
    }
    const created = this.jsm.streams.info(stream).then((info) => {
      const tail: FeedTail = new FeedTail(info.state.last_seq + 1, (seq, s) => readFeed(this.js, stream, subject, seq, s), () => {
        if (this.tails.get(key) === created) this.tails.delete(key);
      });
      return tail;
    });
    this.tails.set(key, created);
    created.catch(() => {
      if (this.tails.get(key) === created) this.tails.delete(key);
    });
    return created;
  }

  /** Reads its own consumer from after `at.last` until the tail holds what comes next (`at.last` kept up to date). */
  private async *catchUp(stream: string, subject: string, at: { last: number }, tail: FeedTail, signal: AbortSignal): AsyncGenerator<FeedMessage> {
    const own = new AbortController();
    const stop = () => own.abort();
    signal.addEventListener("abort", stop, { once: true });
    try {
      for await (const m of readFeed(this.js, stream, subject, at.last + 1, own.signal)) {
        // The tail holds every message from its oldest on: from there it takes over.
        if (at.last + 1 >= tail.oldestSeq || tail.closed) return;
        yield m;
        at.last = m.streamSeq;
      }
    } finally {
      signal.removeEventListener("abort", stop);
      own.abort();
    }
  }

  /**
   * Every tail's consumer made again, from where each reader was (the bus came back: a restarted server
   * lost its consumers; waiting for missed heartbeats would stall every stream for seconds).
   */
  reset(): void {
    for (const tail of this.tails.values()) void tail.then((t) => t.close(), () => undefined);
    this.tails.clear();
  }

  close(): void {
    this.reset();
  }
}
