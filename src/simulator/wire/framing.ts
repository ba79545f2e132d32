/**
 * Framing of the V100+ TWS socket protocol (tws-protocol.md §1).
 *
 * Client greeting: "API\0" + uint32 BE length + "vMIN..MAX[ options]" (no trailing NUL).
 * Every later message, both directions: uint32 BE payload length + "f1\0f2\0...fN\0".
 */
import { fieldText, type Field } from "./fields.js";

export const API_PREFIX = Buffer.from("API\0", "latin1");
/** Largest payload clients accept (stoqey/official: 0xFFFFFF). */
export const MAX_FRAME_LENGTH = 0xffffff;

export interface Greeting {
  minVersion: number;
  maxVersion: number;
  /** Anything after the version range, e.g. "+PACEAPI" (accepted and ignored, as IB does). */
  connectOptions: string;
}

export type GreetingResult =
  | { kind: "incomplete" }
  /** A pre-v100 client: its version as a NUL-terminated decimal, no "API\0" prefix, unframed messages. */
  | { kind: "legacy"; clientVersion: number; consumed: number }
  | { kind: "invalid"; reason: string }
  | { kind: "ok"; greeting: Greeting; consumed: number };

/** Parses the client greeting at the start of `buf`. */
export function parseGreeting(buf: Buffer): GreetingResult {
  if (buf.length > 0 && buf[0]! >= 0x30 && buf[0]! <= 0x39) {
    const nul = buf.indexOf(0);
    if (nul < 0) return buf.length > 16 ? { kind: "invalid", reason: "legacy greeting too long" } : { kind: "incomplete" };
    const text = buf.subarray(0, nul).toString("latin1");
    if (/^\d+$/.test(text)) return { kind: "legacy", clientVersion: Number(text), consumed: nul + 1 };
    return { kind: "invalid", reason: `bad legacy greeting "${text}"` };
  }
  const head = Math.min(buf.length, API_PREFIX.length);
  if (!buf.subarray(0, head).equals(API_PREFIX.subarray(0, head))) {
    return { kind: "invalid", reason: "missing API\\0 prefix" };
  }
  if (buf.length < API_PREFIX.length + 4) return { kind: "incomplete" };
  const len = buf.readUInt32BE(API_PREFIX.length);
  if (len > 4096) return { kind: "invalid", reason: `greeting too long (${len})` };
  const end = API_PREFIX.length + 4 + len;
  if (buf.length < end) return { kind: "incomplete" };
  const text = buf.subarray(API_PREFIX.length + 4, end).toString("latin1").replace(/\0+$/, "").trim();
  const m = /^v(\d+)(?:\.\.(\d+))?(?:\s+(.*))?$/.exec(text);
  if (!m) return { kind: "invalid", reason: `bad version string "${text}"` };
  const minVersion = Number(m[1]);
  const maxVersion = m[2] !== undefined ? Number(m[2]) : minVersion;
  if (maxVersion < minVersion) return { kind: "invalid", reason: `empty version range "${text}"` };
  return { kind: "ok", greeting: { minVersion, maxVersion, connectOptions: m[3] ?? "" }, consumed: end };
}

/** One message of the pre-v100 protocol: NUL-terminated fields, no length prefix. */
export function encodeLegacy(fields: readonly Field[]): Buffer {
  return Buffer.from(fields.map((f) => fieldText(f) + "\0").join(""), "utf8");
}

/** Encodes one message as a length-prefixed, NUL-terminated frame. */
export function encodeFrame(fields: readonly Field[]): Buffer {
  let text = "";
  for (const f of fields) text += fieldText(f) + "\0";
  const payloadLength = Buffer.byteLength(text, "utf8");
  const out = Buffer.allocUnsafe(4 + payloadLength);
  out.writeUInt32BE(payloadLength, 0);
  out.write(text, 4, "utf8");
  return out;
}

/** Reassembles frames from arbitrarily split / coalesced TCP chunks. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  /** Appends a chunk; returns the complete messages (field lists) now available. Throws on an oversize frame. */
  push(chunk: Buffer): string[][] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: string[][] = [];
    let off = 0;
    while (this.buf.length - off >= 4) {
      const len = this.buf.readUInt32BE(off);
      if (len > MAX_FRAME_LENGTH) throw new Error(`frame of ${len} bytes exceeds ${MAX_FRAME_LENGTH}`);
      if (this.buf.length - off - 4 < len) break;
      out.push(splitFields(this.buf.toString("utf8", off + 4, off + 4 + len)));
      off += 4 + len;
    }
    this.buf = off === this.buf.length ? Buffer.alloc(0) : this.buf.subarray(off);
    return out;
  }
}

/** Splits a payload on NUL; the terminating NUL does not produce an extra empty field. */
export function splitFields(payload: string): string[] {
  const parts = payload.split("\0");
  if (parts.length > 0 && parts[parts.length - 1] === "") parts.pop();
  return parts;
}
