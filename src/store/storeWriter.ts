/**
 * The store's one writer: write jobs (each one small transaction) run in order, a few milliseconds' worth
 * per event-loop turn, so a large history download never blocks streams and calls for long. A job that
 * fails is reported and does not stop the ones after it.
 */
export class StoreWriter {
  private readonly jobs: (() => void)[] = [];
  private scheduled = false;
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly onError: (err: unknown) => void,
    /** Work per turn before yielding to the event loop. */
    private readonly sliceMs = 8,
  ) {}

  get pending(): number {
    return this.jobs.length;
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

  /** Runs every queued job now, synchronously; jobs enqueued after this run (and fail) at once. */
  close(): void {
    while (this.jobs.length > 0) this.runOne();
    this.closed = true;
    this.notifyIdle();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.slice());
  }

  private slice(): void {
    this.scheduled = false;
    const until = performance.now() + this.sliceMs;
    while (this.jobs.length > 0 && performance.now() < until) this.runOne();
    if (this.jobs.length > 0) this.schedule();
    else this.notifyIdle();
  }

  private runOne(): void {
    this.runJob(this.jobs.shift()!);
  }

  private runJob(job: () => void): void {
    try {
      job();
    } catch (err) {
      this.onError(err);
    }
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
