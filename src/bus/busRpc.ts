import { createInbox, headers, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from "@nats-io/transport-node";

/**
 * Calls over the bus (NATS request/reply), transport-neutral on both sides: an edge sends a call (a method,
 * a few headers such as the caller's token, the request's bytes), the provider answers with the reply's
 * bytes or a status. Replies larger than a NATS message are sent in chunks to the caller's inbox (a year of
 * min1 candles is tens of MB; a NATS message at most the server's max_payload, 1 MB by default).
 */

/** What a call carries besides its bytes: names and values as gRPC metadata would (lower-case names). */
export type CallHeaders = Record<string, string>;

export type CallReply =
  | { ok: true; body: Uint8Array }
  /** A failed call: a gRPC status code, its message and the google.rpc.Status bytes (its reason, details) if any. */
  | { ok: false; code: number; message: string; details?: Uint8Array };

export interface BusCall {
  /** "/ibprovider.v1.SymbolService/GetSymbol". */
  method: string;
  headers: CallHeaders;
  body: Uint8Array;
  /**
   * The caller's deadline, as time left (ms); undefined when it set none, and then the provider sets none
   * either: a history call waits behind IB's pacing there as it would for a direct caller, instead of being
   * refused for a deadline nobody set.
   */
  timeoutMs?: number | undefined;
}

/** The subject calls of a deployment go to: one provider (one IB account) per subject prefix answers them. */
export function callSubject(prefix: string): string {
  return `${prefix}.rpc`;
}

/** Where a caller that gave up says so (the call's reply inbox as the payload): every provider hears it, the one answering cancels. */
export function cancelSubject(prefix: string): string {
  return `${prefix}.rpc.cancel`;
}

export const HEADER_METHOD = "Ibp-Method";
const HEADER_CALL = "Ibp-H-";
const HEADER_CODE = "Ibp-Code";
const HEADER_MESSAGE = "Ibp-Message";
const HEADER_DETAILS = "Ibp-Details";
const HEADER_CHUNK = "Ibp-Chunk";
const HEADER_TIMEOUT = "Ibp-Timeout-Ms";

/** Room left in a chunk for its headers (at most half of a small server's max_payload: a chunk's headers are a few dozen bytes). */
const HEADER_ROOM = 16 * 1024;
/**
 * How long a sender waits for a call without a deadline before giving up (and cancelling it at the
 * provider): IB's historical pacing (60 requests per 10 minutes) can hold a history call that long.
 */
export const NO_DEADLINE_WAIT_MS = 10 * 60_000;
/** setTimeout's longest delay (a longer one fires at once): a caller's deadline can be days away. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Answers calls with `handle`; several providers on one subject share them (queue group), as a standby
 * would. Returns what stops answering.
 */
export function serveCalls(nc: NatsConnection, prefix: string, handle: (call: BusCall, cancelled: AbortSignal) => Promise<CallReply>): { close(): Promise<void> } {
  // The calls being answered, by reply inbox: a caller that gives up says so, and its call is cancelled here.
  const answering = new Map<string, AbortController>();
  const sub: Subscription = nc.subscribe(callSubject(prefix), {
    queue: "providers",
    callback: (err, msg) => {
      if (err !== null || msg.reply === undefined) return;
      const call = callOf(msg);
      const to = msg.reply;
      const cancel = new AbortController();
      answering.set(to, cancel);
      void handle(call, cancel.signal)
        .then(
          (reply) => (cancel.signal.aborted ? undefined : answer(nc, to, reply)),
          (error: unknown) => (cancel.signal.aborted ? undefined : answer(nc, to, { ok: false, code: 13, message: `internal error: ${messageOf(error)}` })),
        )
        .finally(() => answering.delete(to));
    },
  });
  const cancels: Subscription = nc.subscribe(cancelSubject(prefix), {
    callback: (err, msg) => {
      if (err === null) answering.get(msg.string())?.abort();
    },
  });
  // A connection that has ended (nats.js closes it on repeated auth errors at reconnect) has nothing to drain.
  const drain = (s: Subscription) => (nc.isClosed() ? Promise.resolve() : s.drain().catch(() => undefined));
  return { close: async () => void (await Promise.all([drain(sub), drain(cancels)])) };
}

export interface SendOptions {
  /** Aborted when the connection to the bus went away (an answer sent meanwhile is lost): UNAVAILABLE at once. */
  lost?: AbortSignal;
  /** Aborted when the caller gives up: the provider is told (it cancels the call), CANCELLED at once. */
  cancelled?: AbortSignal;
  /** How long to wait for a call without a deadline (NO_DEADLINE_WAIT_MS). */
  noDeadlineWaitMs?: number;
}

/**
 * Sends a call and waits for its whole reply (all its chunks), at most `call.timeoutMs` (noDeadlineWaitMs
 * without one); a wait that ends unanswered cancels the call at the provider.
 */
export async function sendCall(nc: NatsConnection, prefix: string, call: BusCall, { lost, cancelled, noDeadlineWaitMs = NO_DEADLINE_WAIT_MS }: SendOptions = {}): Promise<CallReply> {
  const waitMs = call.timeoutMs ?? noDeadlineWaitMs;

  const unavailable: CallReply = { ok: false, code: 14, message: "the connection to the bus was lost during the call; retry" };
  const gaveUp: CallReply = { ok: false, code: 1, message: "the call was cancelled by its caller" };
  if (lost?.aborted === true) return unavailable;
  if (cancelled?.aborted === true) return gaveUp;
  const inbox = createInbox();
  const h = headers();
  h.set(HEADER_METHOD, call.method);
  if (call.timeoutMs !== undefined) h.set(HEADER_TIMEOUT, String(call.timeoutMs));
  setCallHeaders(h, call.headers);
  const sub = nc.subscribe(inbox);
  const tellProvider = () => {
    try {
      nc.publish(cancelSubject(prefix), inbox);
    } catch {
      // The connection is gone: so is the provider's way to answer.
    }
  };
  const timer = setTimeout(() => sub.unsubscribe(), Math.min(waitMs, MAX_TIMER_MS));
  let wasLost = false;
  const onLost = () => {
    wasLost = true;
    sub.unsubscribe();
  };
  let wasCancelled = false;
  const onCancelled = () => {
    wasCancelled = true;
    sub.unsubscribe();
    tellProvider();
  };
  lost?.addEventListener("abort", onLost, { once: true });
  cancelled?.addEventListener("abort", onCancelled, { once: true });
  try {
    try {
      nc.publish(callSubject(prefix), call.body, { reply: inbox, headers: h });
    } catch (err) {
      // Larger than the server takes: a retry would fail the same (not UNAVAILABLE, as other failures to send are).
      if (/max_payload/.test(messageOf(err))) return { ok: false, code: 8, message: `the request (${call.body.length} bytes) is larger than the bus carries (max_payload ${nc.info?.max_payload ?? "?"} bytes)` };
      throw err;
    }
    const chunks: Uint8Array[] = [];
    for await (const msg of sub) {
      if (msg.headers?.hasError === true && msg.headers.code === 503) return { ok: false, code: 14, message: "no provider answers on the bus (none running, or none with its IB connection)" };
      const code = msg.headers?.get(HEADER_CODE);
      if (code !== undefined && code !== "") {
        const details = msg.headers?.get(HEADER_DETAILS);
        return { ok: false, code: Number(code), message: msg.headers?.get(HEADER_MESSAGE) ?? "", ...(details ? { details: Buffer.from(details, "base64") } : {}) };
      }
      const [index, count] = (msg.headers?.get(HEADER_CHUNK) ?? "1/1").split("/").map(Number) as [number, number];
      // One provider sends the chunks in order and NATS keeps a sender's order: any other index is a loss
      // (the server dropped a slow consumer's messages), which waiting would only turn into a timeout.
      if (index !== chunks.length + 1 || !(count >= index)) {
        return { ok: false, code: 14, message: `the answer reached the edge incomplete (part ${index}/${count} after ${chunks.length}): retry` };
      }
      chunks.push(msg.data);
      if (chunks.length === count) return { ok: true, body: Buffer.concat(chunks) };
    }
    if (wasCancelled) return gaveUp;
    if (wasLost) return unavailable;
    tellProvider();
    return { ok: false, code: 4, message: `the provider did not answer within ${waitMs} ms` };
  } finally {
    lost?.removeEventListener("abort", onLost);
    cancelled?.removeEventListener("abort", onCancelled);
    clearTimeout(timer);
    sub.unsubscribe();
  }
}

function callOf(msg: Msg): BusCall {
  return { method: msg.headers?.get(HEADER_METHOD) ?? "", headers: callHeadersOf(msg), body: msg.data, timeoutMs: timeoutOf(msg.headers?.get(HEADER_TIMEOUT)) };
}

/** The caller's headers a message carries (a call's, a lease's). */
export function callHeadersOf(msg: Msg): CallHeaders {
  const callHeaders: CallHeaders = {};
  for (const [name, values] of msg.headers ?? []) {
    if (name.startsWith(HEADER_CALL) && values[0] !== undefined) callHeaders[name.slice(HEADER_CALL.length).toLowerCase()] = values[0];
  }
  return callHeaders;
}

export function setCallHeaders(h: MsgHdrs, callHeaders: CallHeaders): void {
  for (const [name, value] of Object.entries(callHeaders)) h.set(`${HEADER_CALL}${name}`, value);
}

/** The caller's time left: undefined when it set no deadline (no header). */
function timeoutOf(header: string | undefined): number | undefined {
  if (header === undefined || header === "") return undefined;
  const ms = Number(header);
  return Number.isFinite(ms) && ms > 0 ? ms : 1;
}

/**
 * Sends the answer; one that cannot be sent (larger than the server takes, a closed connection) becomes an
 * INTERNAL status if that can be sent: never a rejection nobody handles (that would end the provider).
 */
function answer(nc: NatsConnection, to: string, reply: CallReply): void {
  try {
    reply_(nc, to, reply);
  } catch (err) {
    try {
      reply_(nc, to, { ok: false, code: 13, message: `the provider could not send its answer over the bus: ${messageOf(err)}` });
    } catch {
      // The connection is gone: the caller times out.
    }
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function reply_(nc: NatsConnection, to: string, reply: CallReply): void {
  if (nc.isClosed()) return;
  if (!reply.ok) {
    const h: MsgHdrs = headers();
    h.set(HEADER_CODE, String(reply.code));
    // Header values are one line of text: the message as sent, newlines flattened.
    h.set(HEADER_MESSAGE, reply.message.replace(/[\r\n]+/g, " "));
    if (reply.details !== undefined) h.set(HEADER_DETAILS, Buffer.from(reply.details).toString("base64"));
    nc.publish(to, undefined, { headers: h });
    return;
  }
  const maxPayload = nc.info!.max_payload;
  const room = maxPayload - Math.min(HEADER_ROOM, Math.floor(maxPayload / 2));
  const count = Math.max(1, Math.ceil(reply.body.length / room));
  for (let i = 0; i < count; i++) {
    const h = headers();
    h.set(HEADER_CHUNK, `${i + 1}/${count}`);
    nc.publish(to, reply.body.subarray(i * room, (i + 1) * room), { headers: h });
  }
}
