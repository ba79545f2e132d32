import { echo } from "../grpc/apiError.js";

/**
 * A google.api.http path template (google/api/http.proto):
 *
 *   Template = "/" Segments [ ":" Verb ] ;  Segment = "*" | "**" | LITERAL | Variable ;
 *   Variable = "{" FieldPath [ "=" Segments ] "}" ;
 *
 * compiled to a regular expression over the request's raw (still percent-encoded) path.
 */
export interface PathTemplate {
  /** The template as written in the proto, e.g. "/api/candles/{connector_type}/{market_type}/{symbol}/{interval}". */
  readonly source: string;
  /** Field paths bound by the template, in order (e.g. ["connector_type", "market_type"]). */
  readonly variables: readonly string[];
  /** Literal segments: the more, the more specific (a literal beats a variable at the same place). */
  readonly literalCount: number;
  /** OpenAPI form: variables as "{field.path}", wildcards outside variables kept. */
  readonly openApiPath: string;
  /** Binds the variables of a matching path (percent-decoded), or undefined when the path does not match. */
  match(rawPath: string): Map<string, string> | undefined;
}

export class PathTemplateError extends Error {
  constructor(template: string, problem: string) {
    super(`invalid google.api.http path template ${JSON.stringify(template)}: ${problem}`);
    this.name = "PathTemplateError";
  }
}

/** A path segment that failed to percent-decode (the caller answers 400). */
export class PathDecodingError extends Error {}

interface Variable {
  field: string;
  /** Whether the variable may span several segments ("**" inside it): "/" stays undecoded-as-separator. */
  multiSegment: boolean;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const LITERAL = /^[A-Za-z0-9\-._~!$&'()+,;=@%]+$/;

export function parsePathTemplate(source: string): PathTemplate {
  if (!source.startsWith("/")) throw new PathTemplateError(source, "must start with /");
  let rest = source.slice(1);
  let verb: string | undefined;
  // The verb is a ":" after the last segment, outside any variable.
  const lastBrace = rest.lastIndexOf("}");
  const colon = rest.indexOf(":", lastBrace + 1);
  if (colon >= 0 && rest.indexOf("/", colon) < 0) {
    verb = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!LITERAL.test(verb)) throw new PathTemplateError(source, `bad verb ${JSON.stringify(verb)}`);
  }

  const variables: Variable[] = [];
  const regexParts: string[] = [];
  const openApiParts: string[] = [];
  let literalCount = 0;
  for (const segment of splitSegments(source, rest)) {
    if (segment.startsWith("{")) {
      const inner = segment.slice(1, -1);
      const eq = inner.indexOf("=");
      const field = eq < 0 ? inner : inner.slice(0, eq);
      if (!IDENT.test(field)) throw new PathTemplateError(source, `bad field path ${JSON.stringify(field)}`);
      if (variables.some((v) => v.field === field)) throw new PathTemplateError(source, `field ${field} bound twice`);
      const sub = eq < 0 ? ["*"] : inner.slice(eq + 1).split("/");
      const subRegex: string[] = [];
      for (const s of sub) {
        if (s === "*") subRegex.push("[^/]+");
        else if (s === "**") subRegex.push("[^/]+(?:/[^/]+)*");
        else if (LITERAL.test(s)) {
          subRegex.push(escapeRegex(s));
          literalCount++;
        } else throw new PathTemplateError(source, `bad segment ${JSON.stringify(s)} in {${inner}}`);
      }
      variables.push({ field, multiSegment: sub.length > 1 || sub.includes("**") });
      regexParts.push(`(${subRegex.join("/")})`);
      openApiParts.push(`{${field}}`);
    } else if (segment === "*") {
      regexParts.push("[^/]+");
      openApiParts.push("*");
    } else if (segment === "**") {
      regexParts.push("[^/]+(?:/[^/]+)*");
      openApiParts.push("**");
    } else if (LITERAL.test(segment)) {
      regexParts.push(escapeRegex(segment));
      openApiParts.push(segment);
      literalCount++;
    } else {
      throw new PathTemplateError(source, `bad segment ${JSON.stringify(segment)}`);
    }
  }
  const verbSuffix = verb === undefined ? "" : `:${escapeRegex(verb)}`;
  const regex = new RegExp(`^/${regexParts.join("/")}${verbSuffix}/?$`);
  const openApiPath = `/${openApiParts.join("/")}${verb === undefined ? "" : `:${verb}`}`;

  return {
    source,
    variables: variables.map((v) => v.field),
    literalCount,
    openApiPath,
    match(rawPath) {
      const m = regex.exec(rawPath);
      if (m === null) return undefined;
      const bound = new Map<string, string>();
      variables.forEach((v, i) => {
        const raw = m[i + 1]!;
        // A multi-segment variable keeps its "/" separators; "%2F" inside a segment decodes to "/".
        bound.set(v.field, v.multiSegment ? raw.split("/").map(decodeSegment).join("/") : decodeSegment(raw));
      });
      return bound;
    },
  };
}

/** Splits on "/" outside braces. */
function splitSegments(source: string, path: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = "";
  for (const ch of path) {
    if (ch === "{") depth++;
    if (ch === "}") depth--;
    if (depth < 0 || depth > 1) throw new PathTemplateError(source, "unbalanced braces");
    if (ch === "/" && depth === 0) {
      out.push(current);
      current = "";
    } else current += ch;
  }
  if (depth !== 0) throw new PathTemplateError(source, "unbalanced braces");
  out.push(current);
  if (out.some((s) => s === "")) throw new PathTemplateError(source, "empty segment");
  return out;
}

function decodeSegment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new PathDecodingError(`malformed percent-encoding in path segment ${echo(raw)}`);
  }
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
