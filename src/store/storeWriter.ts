/**
 * The write turn shared with another connection of this process (the event writer's thread, eventWriter.ts):
 * taken for a slice of jobs, never waited for by blocking.
 */
export interface WriteGate {
  /** Takes the turn if it is free; if not, asks for it next (the other side yields at its next transaction). */
  tryAcquire(): boolean;
  release(): void;
  /** Resolves when the turn may be free (or after a short while). */
  whenFree(): Promise<void>;
}

/**
 * The store's one writer: write jobs (each one small transaction) run in order, a few milliseconds' worth
 * per event-loop turn, so a large history download never blocks streams and calls for long. A job that
 * fails is reported and does not stop the ones after it. A job that finds the file locked by another
 * connection (the operator's `npm run store -- delete`) is tried again after a back-off, the ones after it
 * waiting their turn: the service never blocks its thread waiting for the lock.
 */
export class StoreWriter {
  private readonly jobs: (() => void)[] = [];
  private scheduled = false;
  private closed = false;
  private backoffMs = 0;
  /** Jobs put back because the file was locked (a figure for tests and the logs). */
  busyRetries = 0;
  private idleWaiters: (() => void)[] = [];
  /** Set when another connection of this process writes the file too (closed: no longer taken). */
  gate: WriteGate | undefined;

  constructor(
    private readonly onError: (err: unknown) => void,
    /** Work per turn before yielding to the event loop. */
    private readonly sliceMs = 8,
    /** A job that threw this is put back and tried again later (database.ts isBusy). */
    private readonly isBusy: (err: unknown) => boolean = () => false,
  ) {}

  get pending(): number {
    return this.jobs.length;
  }

  /** Whether a job that finds the file locked will be run again (until the writer closes). */
  get retriesBusy(): boolean {
    return !this.closed;
  }

  enqueue(job: () => void): void {
    if (this.closed) {
      // After close the job runs at once and fails on the closed database: its caller hears why.
      this.runJob(job);
      return;
    }
    this.jobs.push(job);
    this.schedule();
  }

  /** Resolves once every job enqueued so far has run. */
  idle(): Promise<void> {
    if (this.jobs.length === 0 && !this.scheduled) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Runs `write` now if the write turn is free; false if not (the
   * caller queues it instead). Whatever `write` throws is the caller's.
   */
  tryNow(write: () => void): boolean {
    const gate = this.closed ? undefined : this.gate;
    if (gate !== undefined && !gate.tryAcquire()) return false;
    try {
      write();
    } finally {
      gate?.release();
    }
    return true;
  }

  /** Runs every queued job now, synchronously (a locked one fails then); jobs enqueued after this run (and fail) at once. */
  close(): void {
    this.closed = true;
    while (this.jobs.length > 0) this.runOne();
    this.notifyIdle();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.slice());
  }

  private slice(): void {
    this.scheduled = false;
    if (this.closed) return;
    const gate = this.gate;
    if (gate !== undefined && !gate.tryAcquire()) {
      // The other connection is mid-transaction: this slice when it ends (it lets this one go first next).
      this.scheduled = true;
      void gate.whenFree().then(() => this.slice());
      return;
    }
    const until = performance.now() + this.sliceMs;
    try {
      while (this.jobs.length > 0 && performance.now() < until) {
        if (!this.runOne()) {
          // Locked: the same job first, after a back-off (25 ms doubling to 1 s), the others behind it.
          this.backoffMs = Math.min(1_000, this.backoffMs === 0 ? 25 : this.backoffMs * 2);
          this.scheduled = true;
          setTimeout(() => this.slice(), this.backoffMs);
          return;
        }
      }
    } finally {
      gate?.release();
    }
    if (this.jobs.length > 0) this.schedule();
    else this.notifyIdle();
  }

  /** False when the job found the file locked and was put back. */
  private runOne(): boolean {
    const job = this.jobs.shift()!;
    if (this.runJob(job, !this.closed)) {
      this.backoffMs = 0;
      return true;
    }
    this.jobs.unshift(job);
    this.busyRetries++;
    return false;
  }

  /** Runs a job; false when it found the file locked and `retry` allows another try. */
  private runJob(job: () => void, retry = false): boolean {
    try {
      job();
    } catch (err) {
      if (retry && this.isBusy(err)) return false;
      this.onError(err);
    }
    return true;
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
