import { status, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import { backoffDelay, backoffPolicy, sleep, type BackoffPolicy } from "./backoff.js";
import { errorInfoOf, isServiceError } from "./errorInfo.js";
import { SequenceTracker, type StreamEvent } from "./sequenceTracker.js";
import type { StreamItem } from "./streamItem.js";

export interface ResumeOptions {
  /** Aborting ends the iteration cleanly (no error) and cancels the call, so the service frees the feed. */
  signal?: AbortSignal;
  backoff?: Partial<BackoffPolicy>;
  /** Consecutive re-opens without data in between before the error is thrown instead. Default: no limit. */
  maxRetries?: number;
  /** Which errors re-open the stream. Default: {@link isResumable}. */
  isRetryable?: (error: ServiceError) => boolean;
}

/**
 * The errors after which re-opening the same stream makes sense: the service or the network went away
 * (UNAVAILABLE: restart, shutdown, dropped connection), or the service dropped us for reading too slowly
 * (RESOURCE_EXHAUSTED with reason CONSUMER_TOO_SLOW / CLIENT_NOT_READING). Everything else (bad request,
 * UNAUTHENTICATED, a subscription limit) would fail again the same way.
 */
export function isResumable(error: ServiceError): boolean {
  if (error.code === status.UNAVAILABLE) return true;
  if (error.code === status.RESOURCE_EXHAUSTED) {
    const reason = errorInfoOf(error)?.reason;
    return reason === "CONSUMER_TOO_SLOW" || reason === "CLIENT_NOT_READING";
  }
  return false;
}

/**
 * Reads a server stream of event batches as one async iterable of events that survives disconnects:
 * after a retryable error it yields a `reconnecting` item, waits (capped exponential backoff with
 * jitter), opens the stream again with `open`, and reports any `gap` it can detect from the events'
 * sequence numbers. Breaking out of the loop or aborting `signal` cancels the call.
 *
 * @param open starts one call; it is invoked again for every reconnect.
 */
export async function* resumableStream<E extends StreamEvent>(
  open: () => ClientReadableStream<{ events: E[] }>,
  options: ResumeOptions = {},
): AsyncGenerator<StreamItem<E>, void, undefined> {
  const { signal, maxRetries = Number.POSITIVE_INFINITY, isRetryable = isResumable } = options;
  const policy = backoffPolicy(options.backoff);
  const tracker = new SequenceTracker<E>();
  // A function, not a narrowed property read: the signal changes while we await.
  const aborted = () => signal?.aborted === true;
  let attempt = 0;
  while (!aborted()) {
    const call = open();
    const cancel = () => call.cancel();
    signal?.addEventListener("abort", cancel, { once: true });
    try {
      for await (const response of call as AsyncIterable<{ events: E[] }>) {
        if (aborted()) return; // responses already buffered are not for a consumer that left
        for (const event of response.events) {
          // Only data proves the stream healthy: every stream opens with a SUBSCRIBED status, so resetting
          // on any event would retry a feed that fails right after subscribing forever, at the first delay.
          if (event.event !== undefined && event.event.$case !== "status" && event.event.$case !== "heartbeat") attempt = 0;
          yield* tracker.accept(event);
          if (aborted()) return;
        }
      }
      return; // the service ended the stream normally
    } catch (err) {
      if (aborted()) return;
      if (!isServiceError(err) || !isRetryable(err) || attempt >= maxRetries) throw err;
      attempt += 1;
      const delayMs = backoffDelay(policy, attempt);
      yield { kind: "reconnecting", attempt, delayMs, error: err };
      tracker.reopen();
      await sleep(delayMs, signal);
    } finally {
      signal?.removeEventListener("abort", cancel);
      call.cancel(); // no-op after the end; frees the feed when the consumer stopped early
    }
  }
}
