import { fromBinary, toJson, type DescField, type DescMessage, type JsonObject, type JsonValue, type Registry } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import type { PagedList, PagedResponse } from "./responseRenderer.js";

/**
 * Elements converted per event-loop turn: about 35 ms for candles (decode and toJson), as the gRPC side
 * encodes them (src/grpc/mapping/candlesResponse.ts). A year of min1 (525,600 candles, 44 MB) converted
 * whole held the loop ≈ 4 s: every other call, stream and the IB socket waited.
 */
export const ELEMENTS_PER_PAGE = 5_000;

/**
 * A unary answer converted to canonical JSON a page at a time instead of whole: its top-level fields are
 * walked (tag, varint length) without decoding; each repeated message field (`candles`) keeps only where
 * its elements' bytes are, and an element is decoded and converted on its own when read; the other fields
 * are decoded together, as before. Protobuf concatenates a repeated field's elements, so the answer's
 * JSON is the head with each list's elements in place: `toJson` of an element alone is what `toJson`
 * of the whole message writes for it.
 *
 * Undefined when there is nothing to page: a well-known type (its JSON is not an object of fields) or a
 * message without repeated message fields.
 */
export function pagedResponse(output: DescMessage, bytes: Uint8Array, registry: Registry, pageSize = ELEMENTS_PER_PAGE): PagedResponse | undefined {
  if (output.typeName.startsWith("google.protobuf.")) return undefined;
  const listFields = new Map<number, DescField & { fieldKind: "list"; listKind: "message" }>();
  for (const f of output.fields) if (f.fieldKind === "list" && f.listKind === "message") listFields.set(f.number, f);
  if (listFields.size === 0) return undefined;

  const ranges = new Map<number, { starts: number[]; ends: number[] }>();
  for (const number of listFields.keys()) ranges.set(number, { starts: [], ends: [] });
  /** The other fields' bytes, contiguous runs kept as one slice. */
  const rest: Uint8Array[] = [];
  let restFrom = 0;
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const fieldStart = reader.pos;
    const [number, wireType] = reader.tag();
    const list = wireType === WireType.LengthDelimited ? ranges.get(number) : undefined;
    if (list === undefined) {
      reader.skip(wireType, number);
      continue;
    }
    if (fieldStart > restFrom) rest.push(bytes.subarray(restFrom, fieldStart));
    const length = reader.uint32();
    list.starts.push(reader.pos);
    reader.pos += length;
    if (reader.pos > reader.len) throw new RangeError("premature EOF");
    list.ends.push(reader.pos);
    restFrom = reader.pos;
  }
  if (bytes.length > restFrom) rest.push(bytes.subarray(restFrom));

  const options = { registry, alwaysEmitImplicit: true };
  const head = toJson(output, fromBinary(output, concat(rest)), options) as JsonObject;
  const lists = new Map<string, PagedList>();
  for (const [number, field] of listFields) {
    // toJson writes every list, empty ones too (alwaysEmitImplicit): the elements go where its [] is.
    if (!(field.jsonName in head)) return undefined;
    const { starts, ends } = ranges.get(number)!;
    const schema = field.message;
    const at = (index: number): JsonValue => toJson(schema, fromBinary(schema, bytes.subarray(starts[index], ends[index])), options);
    lists.set(field.jsonName, {
      length: starts.length,
      at,
      async *pages() {
        for (let from = 0; from < starts.length; from += pageSize) {
          if (from > 0) await new Promise<void>((resolve) => setImmediate(resolve));
          const page: JsonValue[] = [];
          for (let i = from; i < Math.min(from + pageSize, starts.length); i++) page.push(at(i));
          yield page;
        }
      },
    });
  }
  return { head, lists };
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  return Buffer.concat(parts);
}

/**
 * The text `JSON.stringify` gives for the whole answer (or its `responseBody` field), in chunks of about a
 * page: keys in the head's order (toJson's), each list's elements stringified a page at a time.
 */
export async function* jsonChunks(response: PagedResponse, responseBodyJsonName?: string): AsyncGenerator<string> {
  if (responseBodyJsonName !== undefined) {
    const list = response.lists.get(responseBodyJsonName);
    if (list === undefined) yield JSON.stringify(response.head[responseBodyJsonName] ?? null);
    else yield* listChunks(list, "");
    return;
  }
  let pending = "{";
  let first = true;
  for (const [key, value] of Object.entries(response.head)) {
    pending += `${first ? "" : ","}${JSON.stringify(key)}:`;
    first = false;
    const list = response.lists.get(key);
    if (list === undefined) {
      pending += JSON.stringify(value);
      continue;
    }
    let last = "";
    for await (const chunk of listChunks(list, pending)) {
      if (last !== "") yield last;
      last = chunk;
    }
    pending = last;
  }
  yield `${pending}}`;
}

/** `[e0,e1,…]` after `prefix`, a chunk per page; the last chunk ends with "]". */
async function* listChunks(list: PagedList, prefix: string): AsyncGenerator<string> {
  let pending = `${prefix}[`;
  let first = true;
  for await (const page of list.pages()) {
    for (const element of page) {
      pending += `${first ? "" : ","}${JSON.stringify(element)}`;
      first = false;
    }
    yield pending;
    pending = "";
  }
  yield `${pending}]`;
}
