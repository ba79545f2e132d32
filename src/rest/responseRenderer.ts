import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import type { RpcRoute } from "./httpRules.js";
import { BindingError } from "./requestBinding.js";

/**
 * Another form than JSON for one unary RPC's answer (CSV candles), chosen per request with `?format=` or
 * `Accept`. The bridge stays generic: it knows renderers only through this interface and hands them the
 * answer's canonical JSON (the very strings the JSON form sends), never a generated type.
 */
export interface ResponseRenderer {
  /** The RPC whose answers it renders, as the bridge calls it: "/ibprovider.v1.MarketDataService/GetCandles". */
  grpcPath: string;
  /** The `?format=` value that asks for it ("csv"). */
  format: string;
  /** Its media type, matched in `Accept` and answered with `; charset=utf-8` ("text/csv"). */
  mediaType: string;
  /** For the OpenAPI document. */
  description: string;
  /** The body and extra headers (Content-Disposition, ...) from the response and request in canonical JSON. */
  render(response: JsonValue, request: JsonObject): { body: string; headers: Record<string, string> };
  /**
   * The same for an answer too large to convert at once (rpcGateway.ts LARGE_ANSWER_BYTES): the headers at
   * once, the body as chunks the bridge writes one at a time, between which other work runs. A renderer
   * without it gets the whole answer through `render`.
   */
  renderPaged?(response: PagedResponse, request: JsonObject): { chunks: AsyncIterable<string>; headers: Record<string, string> };
}

/**
 * A large answer's canonical JSON, its long lists read a page per event-loop turn (pagedResponse.ts): the
 * whole JSON is `head` with each list's elements in place of its `[]`.
 */
export interface PagedResponse {
  /** Every field but the lists' elements: each list is there, empty, where the JSON form has it. */
  head: JsonObject;
  /** The repeated message fields by JSON name ("candles"). */
  lists: ReadonlyMap<string, PagedList>;
}

export interface PagedList {
  readonly length: number;
  /** One element's JSON (the first and the last, without reading the rest). */
  at(index: number): JsonValue;
  /** Every element in order, a page at a time, the next page converted in a later event-loop turn. */
  pages(): AsyncIterable<JsonValue[]>;
}

/** The query parameter that picks a form, on routes that have renderers only (unknown keys are ignored elsewhere). */
export const FORMAT_PARAMETER = "format";

/**
 * The renderer a request asks for, or undefined for JSON. `?format=` wins over `Accept`; an unknown
 * `format` is INVALID_ARGUMENT (before the call: no IB request is spent on an answer we cannot write).
 * `Accept` picks by quality (`text/csv` over `application/json;q=0.9`); ties, `*\/*` and no header mean JSON.
 */
export function chosenRenderer(
  renderers: readonly ResponseRenderer[],
  route: RpcRoute,
  query: URLSearchParams,
  accept: string | undefined,
  /** Called when the route has renderers: its answer then varies by Accept (caches must know). */
  variesByAccept: () => void,
): ResponseRenderer | undefined {
  const own = renderers.filter((r) => r.grpcPath === route.grpcPath);
  if (own.length === 0) return undefined;
  variesByAccept();
  const format = query.get(FORMAT_PARAMETER);
  if (format !== null) {
    if (format === "json") return undefined;
    const byFormat = own.find((r) => r.format === format);
    if (byFormat === undefined) throw new BindingError(FORMAT_PARAMETER, `expected one of json, ${own.map((r) => r.format).join(", ")} (got ${JSON.stringify(format.slice(0, 32))})`);
    return byFormat;
  }
  let best: { renderer: ResponseRenderer | undefined; q: number } = { renderer: undefined, q: 0 };
  for (const { type, q } of acceptedTypes(accept ?? "")) {
    if (type === "application/json" && q > best.q) best = { renderer: undefined, q };
    const renderer = own.find((r) => r.mediaType === type);
    if (renderer !== undefined && q > best.q) best = { renderer, q };
  }
  return best.renderer;
}

/** The media types an Accept header lists with their quality (RFC 9110 §12.5.1), lower-cased, q=0 left out. */
function acceptedTypes(accept: string): { type: string; q: number }[] {
  return accept.split(",").flatMap((part) => {
    const [type, ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    if (type === undefined || type === "") return [];
    const qParam = params.find((p) => p.startsWith("q="));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    return Number.isFinite(q) && q > 0 ? [{ type, q }] : [];
  });
}
