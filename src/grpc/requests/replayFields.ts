/** The replay fields of every stream request (start_time, after_sequence, epoch), checked once here. */
import { status } from "@grpc/grpc-js";
import type { Timestamp } from "../../../gen/google/protobuf/timestamp.js";
import type { ReplayStart } from "../../stream/replayCursor.js";
import { ReplayRangeError } from "../../stream/replayCursor.js";
import { ApiError, invalidArgument } from "../apiError.js";
import { isValidTimestamp, timestampToMs } from "../mapping/protoTime.js";

export interface ReplayFields {
  startTime?: Timestamp | undefined;
  afterSequence?: string | undefined;
  epoch?: string | undefined;
}

/** Clocks differ a little between a client and the service: a start this far ahead of now counts as now. */
const CLOCK_SKEW_MS = 5_000;

/** Sequences and epochs are exact JavaScript integers here: at most 15 digits (epochs are ms times, 13). */
const UINT = /^\d{1,15}$/;

/** Where the stream starts: undefined = live (no replay field set). */
export function replayStartOf(request: ReplayFields, nowMs: number): ReplayStart | undefined {
  const { startTime, afterSequence, epoch } = request;
  if (startTime !== undefined) {
    if (afterSequence !== undefined) throw invalidArgument("after_sequence", "not together with start_time: a stream starts from one of them", "REPLAY_START_AMBIGUOUS");
    if (epoch !== undefined && epoch !== "0") throw invalidArgument("epoch", "only with after_sequence (the epoch that sequence belongs to), not with start_time", "REPLAY_EPOCH_WITHOUT_SEQUENCE");
    if (!isValidTimestamp(startTime)) throw invalidArgument("start_time", "not a valid time (0001-01-01 to 9999-12-31)", "INVALID_TIME");
    const atMs = timestampToMs(startTime);
    if (atMs > nowMs + CLOCK_SKEW_MS) throw invalidArgument("start_time", `is in the future (${new Date(atMs).toISOString()})`, "INVALID_TIME_RANGE");
    return { atMs: Math.min(atMs, nowMs) };
  }
  if (afterSequence === undefined) {
    if (epoch !== undefined && epoch !== "0") throw invalidArgument("epoch", "only with after_sequence (the epoch that sequence belongs to)", "REPLAY_EPOCH_WITHOUT_SEQUENCE");
    return undefined;
  }
  if (!UINT.test(afterSequence)) throw invalidArgument("after_sequence", "not a whole number of at most 15 digits", "INVALID_SEQUENCE");
  if (epoch === undefined || epoch === "0") throw invalidArgument("epoch", "required with after_sequence: the epoch of the SUBSCRIBED status the sequence came with", "REPLAY_EPOCH_REQUIRED");
  if (!UINT.test(epoch)) throw invalidArgument("epoch", "not a whole number of at most 15 digits", "INVALID_EPOCH");
  return { afterSeq: Number(afterSequence), epoch: Number(epoch) };
}

/** A start the feed's journal cannot serve → OUT_OF_RANGE naming the field and, for a time, the oldest time available. */
export function replayRangeError(err: ReplayRangeError): ApiError {
  const field = err.field === "time" ? "start_time" : "after_sequence";
  const metadata: Record<string, string> = { field };
  if (err.oldestMs !== undefined) metadata.oldestAvailable = new Date(err.oldestMs).toISOString();
  return new ApiError(status.OUT_OF_RANGE, `${field}: ${err.message}`, "REPLAY_OUT_OF_RANGE", metadata, [{ field, description: err.message }]);
}
