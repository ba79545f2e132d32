import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";
import type { JournalPosition, RecordedEvent, RecordedKind } from "../stream/feedJournal.js";
import { isBusy } from "./database.js";
import { ROWS_PER_JOB } from "./eventJournal.js";
import type { StoreWriter, WriteGate } from "./storeWriter.js";

/** What became of a batch: `committed` its last row written (undefined: none), `error` why the rest was not. */
export interface BatchResult {
  committed: JournalPosition | undefined;
  error: unknown;
}

/**
 * Commits recorded rows of a feed whose row exists. Batches of one instance are committed in the order
 * handed over; after a failure of an instance's batch, its later batches are not written (settled failed
 * with the same error: the journal ends at its last committed row). `done` runs on the event loop.
 */
export interface EventWriter {
  write(feedId: number, instance: number, rows: readonly RecordedEvent[], done: (result: BatchResult) => void): void;
  /** Batches handed over and not yet acknowledged. */
  readonly inFlight: number;
  /** Every batch handed over so far is committed (or failed) and acknowledged, synchronously (the store is closing). */
  drain(): void;
  /** drain(), then no more batches (a write after close fails). */
  close(): void;
}

export const KIND_CODES: Record<RecordedKind, number> = { data: 0, status: 1, snapshot: 2 };

/** Rows per write transaction (both writers; eventWriterWorker.mjs has its own copy). */
const ROWS_PER_TRANSACTION = ROWS_PER_JOB;

/**
 * In this thread, through the store's StoreWriter (a job per batch of up to ROWS_PER_TRANSACTION rows): the
 * writer of an in-memory store, which no other connection can open.
 */
export class InThreadEventWriter implements EventWriter {
  inFlight = 0;
  private readonly failed = new Map<number, unknown>();
  constructor(
    private readonly writer: StoreWriter,
    private readonly insert: (feedId: number, rows: readonly RecordedEvent[]) => void,
  ) {}

  write(feedId: number, instance: number, rows: readonly RecordedEvent[], done: (result: BatchResult) => void): void {
    this.inFlight++;
    let committed: JournalPosition | undefined;
    let offset = 0;
    const job = () => {
      const failure = this.failed.get(instance);
      if (failure === undefined) {
        try {
          const chunk = rows.length - offset <= ROWS_PER_TRANSACTION ? (offset === 0 ? rows : rows.slice(offset)) : rows.slice(offset, offset + ROWS_PER_TRANSACTION);
          this.insert(feedId, chunk);
          offset += chunk.length;
          const last = chunk[chunk.length - 1]!;
          committed = { seq: last.seq, sub: last.sub };
          if (offset < rows.length) {
            this.writer.enqueue(job); // behind whatever else is queued: the loop turns between transactions
            return;
          }
        } catch (err) {
          if (isBusy(err) && this.writer.retriesBusy) throw err; // the writer runs the job again later
          this.failed.set(instance, err);
          this.inFlight--;
          done({ committed, error: err });
          return;
        }
      }
      this.inFlight--;
      done({ committed, error: failure });
    };
    this.writer.enqueue(job);
  }

  drain(): void {
    // The StoreWriter's own close runs every queued job.
  }

  close(): void {}
}

/** Indexes of the Int32 words shared with the worker (eventWriterWorker.mjs). */
export const SHARED = { lock: 0, want: 1, synced: 2, closing: 3 } as const;
const LOCK_FREE = 0;
const LOCK_MAIN = 1;

/** Bytes of a row's header in a batch buffer: seq f64, sub f64, time f64, kind u8, length u32. */
const HEADER = 29;

/** Packs rows into one buffer (handed to the worker by transfer, not copied). */
export function packRows(rows: readonly RecordedEvent[]): ArrayBuffer {
  let size = 0;
  for (const r of rows) size += HEADER + r.bytes.byteLength;
  const buffer = new ArrayBuffer(size);
  const view = new DataView(buffer);
  const bytes = new Uint8Array(buffer);
  let at = 0;
  for (const r of rows) {
    view.setFloat64(at, r.seq, true);
    view.setFloat64(at + 8, r.sub, true);
    view.setFloat64(at + 16, r.timeMs, true);
    view.setUint8(at + 24, KIND_CODES[r.kind]);
    view.setUint32(at + 25, r.bytes.byteLength, true);
    bytes.set(r.bytes, at + HEADER);
    at += HEADER + r.bytes.byteLength;
  }
  return buffer;
}

type Ack = { id: number; committed: [number, number] | null; error: { message: string; code?: string } | null };

/**
 * On a worker thread with its own connection to the store's file (eventWriterWorker.mjs): the inserts, their
 * transactions and the WAL checkpoints their commits run leave the event loop. The two connections take turns through a lock in
 * shared memory (the gate): the main thread's writer never blocks on it — it waits for its turn
 * asynchronously (Atomics.waitAsync) and the worker lets it go first at its next transaction — so candle
 * writes and event inserts cannot starve each other. Another process's lock (the operator's CLI) is waited
 * for by the worker (busy_timeout, then retried), never by the event loop.
 */
export class WorkerEventWriter implements EventWriter {
  readonly gate: WriteGate;
  private readonly shared: Int32Array;
  /** Started at the first batch: a store that records nothing (STORE_RECORDING=off, the operator's CLI) has no thread. */
  private thread: { worker: Worker; port: MessagePort } | undefined;
  private readonly pending = new Map<number, (result: BatchResult) => void>();
  private nextId = 1;
  private syncs = 0;
  private dead: Error | undefined;
  private closed = false;

  constructor(private readonly path: string) {
    this.shared = new Int32Array(new SharedArrayBuffer(4 * 4));
    const shared = this.shared;
    this.gate = {
      tryAcquire() {
        if (Atomics.compareExchange(shared, SHARED.lock, LOCK_FREE, LOCK_MAIN) === LOCK_FREE) {
          Atomics.store(shared, SHARED.want, 0);
          Atomics.notify(shared, SHARED.want);
          return true;
        }
        // The worker lets this thread go first at its next transaction.
        Atomics.store(shared, SHARED.want, 1);
        return false;
      },
      release() {
        Atomics.store(shared, SHARED.lock, LOCK_FREE);
        Atomics.notify(shared, SHARED.lock);
      },
      whenFree() {
        const held = Atomics.load(shared, SHARED.lock);
        if (held === LOCK_FREE) return Promise.resolve();
        const wait = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number, t: number): { async: boolean; value: Promise<string> | string } }).waitAsync(shared, SHARED.lock, held, 50);
        return wait.async ? (wait.value as Promise<string>).then(() => undefined) : Promise.resolve();
      },
    };
  }

  get inFlight(): number {
    return this.pending.size;
  }

  private start(): { worker: Worker; port: MessagePort } {
    const { port1: port, port2 } = new MessageChannel();
    const worker = new Worker(new URL("./eventWriterWorker.mjs", import.meta.url), { workerData: { path: this.path, shared: this.shared, port: port2 }, transferList: [port2] });
    worker.unref();
    worker.on("error", (err) => this.fail(err));
    worker.on("exit", (code) => this.fail(new Error(`the event writer's thread exited (code ${code})`)));
    port.on("message", (acks: Ack[]) => this.acknowledge(acks));
    port.unref();
    return (this.thread = { worker, port });
  }

  write(feedId: number, instance: number, rows: readonly RecordedEvent[], done: (result: BatchResult) => void): void {
    if (this.dead !== undefined || this.closed) {
      const error = this.dead ?? new Error("the store is closed");
      queueMicrotask(() => done({ committed: undefined, error }));
      return;
    }
    const { port } = this.thread ?? this.start();
    const id = this.nextId++;
    const buffer = packRows(rows);
    if (this.pending.size === 0) port.ref(); // an acknowledgement is awaited: the process waits for it
    this.pending.set(id, done);
    port.postMessage({ type: "batch", id, feedId, instance, count: rows.length, buffer }, [buffer]);
  }

  drain(): void {
    if (this.dead !== undefined || this.closed || this.thread === undefined) return;
    // The store is closing: a batch finding the file locked by another process fails after busy_timeout rather than waiting on.
    Atomics.store(this.shared, SHARED.closing, 1);
    this.await("sync");
  }

  close(): void {
    if (this.closed) return;
    Atomics.store(this.shared, SHARED.closing, 1); // a batch finding the file locked fails now rather than waiting
    if (this.dead === undefined && this.thread !== undefined) this.await("close"); // every batch so far, then the worker's connection closed
    this.closed = true;
    this.thread?.port.close();
    void this.thread?.worker.terminate();
    this.fail(new Error("the store closed before the batch was written"));
  }

  /** Posts a sync (or close) behind every batch and blocks this thread until the worker has handled it, then takes its acknowledgements. */
  private await(type: "sync" | "close"): void {
    const port = this.thread!.port;
    const target = ++this.syncs;
    Atomics.store(this.shared, SHARED.want, 0);
    port.postMessage({ type, n: target });
    const deadline = performance.now() + 60_000;
    for (;;) {
      const seen = Atomics.load(this.shared, SHARED.synced);
      if (seen >= target) break;
      const left = deadline - performance.now();
      if (left <= 0) break;
      Atomics.wait(this.shared, SHARED.synced, seen, Math.min(left, 1_000));
    }
    for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) this.acknowledge(m.message as Ack[]);
  }

  private acknowledge(acks: Ack[]): void {
    for (const ack of acks) {
      const done = this.pending.get(ack.id);
      if (done === undefined) continue;
      this.pending.delete(ack.id);
      const error = ack.error === null ? undefined : Object.assign(new Error(ack.error.message), ack.error.code === undefined ? {} : { code: ack.error.code });
      done({ committed: ack.committed === null ? undefined : { seq: ack.committed[0], sub: ack.committed[1] }, error });
    }
    if (this.pending.size === 0 && !this.closed) this.thread?.port.unref();
  }

  private fail(err: Error): void {
    this.dead ??= err;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const done of pending) done({ committed: undefined, error: err });
  }
}
