import { SseParser } from "../ui/static/sseParser.js";

/**
 * Follows a Server-Sent Events response into `into` (each event's data, parsed as JSON) until the stream
 * ends or `signal` aborts; resolves with the HTTP status. A refused request's body is not read.
 */
export async function followSse(url: string, into: unknown[], signal: AbortSignal, headers: Record<string, string> = {}): Promise<number> {
  const res = await fetch(url, { headers: { ...headers, Accept: "text/event-stream" }, signal });
  if (!res.ok || res.body === null) return res.status;
  const parser = new SseParser();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (const event of parser.push(value)) into.push(JSON.parse(event.data));
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  }
  return res.status;
}
