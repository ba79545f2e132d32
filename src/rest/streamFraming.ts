import type { JsonValue } from "@bufbuild/protobuf";
import type { StatusJson } from "./rpcStatus.js";

/**
 * How a server stream is written over HTTP/1.1:
 * - "ndjson" (default, as grpc-gateway does): one `{"result": …}` JSON object per line, and a last
 *   `{"error": {code, message, details}}` line when the stream fails after it started;
 * - "sse" (`Accept: text/event-stream`): each message is an event whose data is the message, a failure
 *   an `error` event whose data is the status.
 */
export type StreamFraming = "ndjson" | "sse";

export function framingFor(accept: string | undefined): StreamFraming {
  return accept !== undefined && /(^|,)\s*text\/event-stream\b/i.test(accept) ? "sse" : "ndjson";
}

export const STREAM_HEADERS: Record<StreamFraming, Record<string, string>> = {
  // grpc-gateway streams as application/json; one object per line.
  ndjson: { "Content-Type": "application/json", "Cache-Control": "no-cache" },
  // X-Accel-Buffering: a buffering reverse proxy would otherwise hold events back.
  sse: { "Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no" },
};

export function resultFrame(framing: StreamFraming, result: JsonValue): string {
  return framing === "ndjson" ? `${JSON.stringify({ result })}\n` : `data: ${JSON.stringify(result)}\n\n`;
}

export function errorFrame(framing: StreamFraming, error: StatusJson): string {
  return framing === "ndjson" ? `${JSON.stringify({ error })}\n` : `event: error\ndata: ${JSON.stringify(error)}\n\n`;
}
