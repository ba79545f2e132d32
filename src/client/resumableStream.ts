import { status, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import { backoffDelay, backoffPolicy, sleep, type BackoffPolicy } from "./backoff.js";
import { errorInfoOf, isServiceError } from "./errorInfo.js";
import { SequenceTracker, type StreamEvent } from "./sequenceTracker.js";
import type { StreamItem } from "./streamItem.js";

/**
 * Where a stream begins (see "Replay and resume" in docs/streams.md): the events recorded from a time, or
 * right after the data event `afterSequence` of `epoch` (a resume point: `sequence` and `epoch` of an item a
 * stream yielded earlier); then live.
 */
export type StreamStart = { time: Date | number } | { afterSequence: bigint | string; epoch: bigint | string };

/**
 * How `open` starts one call: undefined = the request as the caller gave it; a {@link StreamStart} = its
 * replay fields set to that start (start_time, or after_sequence + epoch); `{ live: true }` = none of them.
 */
export type CallStart = StreamStart | { live: true };

export interface ResumeOptions {
  /** Aborting ends the iteration cleanly (no error) and cancels the call, so the service frees the feed. */
  signal?: AbortSignal;
  backoff?: Partial<BackoffPolicy>;
  /** Consecutive re-opens without data in between before the error is thrown instead. Default: no limit. */
  maxRetries?: number;
  /** Which errors re-open the stream. Default: {@link isResumable}. */
  isRetryable?: (error: ServiceError) => boolean;
  /** Begin in the past (a time, or after a sequence), then live. Default: live. */
  start?: StreamStart;
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
 * A resume the service refuses to replay: it records nothing (REPLAY_UNAVAILABLE, a service without a
 * store) or does not have that sequence (REPLAY_OUT_OF_RANGE). The stream then goes on live, and the
 * sequence numbers say what was missed.
 */
function isReplayRefusal(error: ServiceError): "unavailable" | "out-of-range" | undefined {
  const reason = errorInfoOf(error)?.reason;
  if (error.code === status.FAILED_PRECONDITION && reason === "REPLAY_UNAVAILABLE") return "unavailable";
  if (error.code === status.OUT_OF_RANGE && reason === "REPLAY_OUT_OF_RANGE") return "out-of-range";
  return undefined;
}

const isSequenceStart = (start: CallStart | undefined): start is { afterSequence: bigint | string; epoch: bigint | string } => start !== undefined && "afterSequence" in start;

/**
 * Reads a server stream of event batches as one async iterable of events that survives disconnects:
 * after a retryable error it yields a `reconnecting` item, waits (capped exponential backoff with
 * jitter) and opens the stream again with `open`, resuming right after the last data event it yielded
 * (after_sequence + epoch): the service replays what was missed, which comes as ordinary events. A `gap`
 * is reported only where events are missing for good: the service says so (GAP status), the feed's
 * numbering restarted (a new epoch), or jumped. Breaking out of the loop or aborting `signal` cancels the call.
 *
 * @param open starts one call with the given start (see {@link CallStart}); it is invoked again for every
 *   reconnect. An `open` that ignores its argument still works: reconnects are then live, with gap reports.
 */
export async function* resumableStream<E extends StreamEvent>(
  open: (start?: CallStart) => ClientReadableStream<{ events: E[] }>,
  options: ResumeOptions = {},
): AsyncGenerator<StreamItem<E>, void, undefined> {
  const { signal, start, maxRetries = Number.POSITIVE_INFINITY, isRetryable = isResumable } = options;
  const policy = backoffPolicy(options.backoff);
  const tracker = new SequenceTracker<E>(isSequenceStart(start) ? { afterSequence: BigInt(start.afterSequence), epoch: BigInt(start.epoch) } : undefined);
  // A function, not a narrowed property read: the signal changes while we await.
  const aborted = () => signal?.aborted === true;
  let attempt = 0;
  /** The service records nothing: reconnects go live. */
  let replayUnavailable = false;
  let from: CallStart | undefined = start;
  /** Whether `from` is the client's own resume (a refusal then means "go live"), not the caller's start. */
  let clientResume = false;
  while (!aborted()) {
    const call = open(from);
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
      const refusal = clientResume && isServiceError(err) ? isReplayRefusal(err) : undefined;
      if (refusal !== undefined) {
        // Refused before anything was sent: open live at once (not a failed attempt); the tracker checks the numbering.
        replayUnavailable ||= refusal === "unavailable";
        from = { live: true };
        clientResume = false;
        tracker.reopen(false);
        continue;
      }
      if (!isServiceError(err) || !isRetryable(err) || attempt >= maxRetries) throw err;
      attempt += 1;
      const delayMs = backoffDelay(policy, attempt);
      yield { kind: "reconnecting", attempt, delayMs, error: err };
      const point = replayUnavailable ? undefined : tracker.resumePoint;
      if (point !== undefined) {
        from = { afterSequence: String(point.afterSequence), epoch: String(point.epoch) };
        clientResume = true;
      } else {
        // Nothing delivered yet: begin again where the caller asked. Otherwise no resume point (the service
        // sends no epochs, or records nothing): live, and the numbering tells what was missed.
        from = tracker.hasData ? { live: true } : start;
        clientResume = false;
      }
      tracker.reopen(isSequenceStart(from));
      await sleep(delayMs, signal);
    } finally {
      signal?.removeEventListener("abort", cancel);
      call.cancel(); // no-op after the end; frees the feed when the consumer stopped early
    }
  }
}
