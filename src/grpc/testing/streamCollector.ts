import type { ClientReadableStream, ServiceError } from "@grpc/grpc-js";
import type { StreamStatusKind } from "../../../gen/ibprovider/v1/types.js";
import type { UntilOptions } from "../../testing/until.js";

/** One event of any stream (ts-proto's XEvent: the oneof and the feed's sequence). */
export interface StreamedEvent {
  sequence: string;
  event?: { $case: string; value: unknown } | undefined;
}

/** Collects a stream's events; `until` resolves, woken by the stream, when `pred` holds (or rejects after timeoutMs). */
export class Collector {
  readonly events: StreamedEvent[] = [];
  error: ServiceError | undefined;
  private waiters: { pred: () => boolean; resolve: () => void }[] = [];

  constructor(readonly call: ClientReadableStream<{ events: StreamedEvent[] }>) {
    call.on("data", (res: { events: StreamedEvent[] }) => {
      this.events.push(...res.events);
      this.check();
    });
    call.on("error", (err: ServiceError) => {
      this.error = err;
      this.check();
    });
  }

  get data(): StreamedEvent[] {
    return this.events.filter((e) => e.event !== undefined && e.event.$case !== "status" && e.event.$case !== "heartbeat");
  }

  statuses(kind: StreamStatusKind): number {
    return this.events.filter((e) => e.event?.$case === "status" && (e.event.value as { kind: StreamStatusKind }).kind === kind).length;
  }

  until(pred: () => boolean, { what, timeoutMs = 5_000 }: UntilOptions): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${what}: not within ${timeoutMs} ms (${this.data.length} data events, error ${this.error?.details ?? "none"})`)), timeoutMs);
      this.waiters.push({ pred, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  private check(): void {
    this.waiters = this.waiters.filter((w) => {
      if (!w.pred()) return true;
      w.resolve();
      return false;
    });
  }
}

