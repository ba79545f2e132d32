import {
  create,
  fromJson,
  merge,
  ScalarType,
  type DescField,
  type DescMessage,
  type JsonObject,
  type JsonValue,
  type Message,
  type Registry,
} from "@bufbuild/protobuf";
import { echo } from "../grpc/apiError.js";
import type { RpcRoute } from "./httpRules.js";

/** A request that cannot become the RPC's input message; `field` is the path or query name as sent. */
export class BindingError extends Error {
  constructor(
    readonly field: string,
    readonly description: string,
  ) {
    super(field === "" ? description : `invalid ${field}: ${description}`);
    this.name = "BindingError";
  }
}

export interface HttpRequestParts {
  /** Path variables bound by the route's template (field path → decoded value). */
  pathVariables: ReadonlyMap<string, string>;
  query: URLSearchParams;
  /** The parsed JSON body, undefined when the request had none. */
  body: JsonValue | undefined;
}

/**
 * Builds an RPC's input message the way grpc-gateway does: the body ("*" = the whole message, or one
 * field), then path variables (they win over the body), then query parameters for every field still
 * unbound (proto or lowerCamel names, dotted for nested messages, repeated keys for repeated fields,
 * enum names or numbers; unknown keys are ignored). Values are typed per field: a bad one is a
 * BindingError naming the parameter.
 */
export function bindRequest(route: RpcRoute, parts: HttpRequestParts, registry: Registry): Message {
  const input = route.method.input;
  const params: JsonObject = {};
  const bound: string[] = [];

  for (const [fieldPath, value] of parts.pathVariables) {
    const fields = resolveFieldPath(input, fieldPath.split("."));
    if (fields === undefined) throw new BindingError(fieldPath, `the path template binds an unknown field of ${input.typeName}`);
    setIn(params, fields, jsonValueOf(fields[fields.length - 1]!, [value], fieldPath));
    bound.push(fields.map((f) => f.name).join("."));
  }

  if (route.body !== "" && route.body !== "*") {
    const field = input.fields.find((f) => f.name === route.body)!;
    if (parts.body !== undefined) params[field.jsonName] = parts.body;
    bound.push(field.name);
  }

  if (route.body !== "*") {
    for (const key of new Set(parts.query.keys())) {
      const fields = resolveFieldPath(input, key.split("."));
      if (fields === undefined) continue; // grpc-gateway ignores unknown query parameters
      const protoPath = fields.map((f) => f.name).join(".");
      if (bound.some((b) => protoPath === b || protoPath.startsWith(`${b}.`) || b.startsWith(`${protoPath}.`))) continue;
      setIn(params, fields, jsonValueOf(fields[fields.length - 1]!, parts.query.getAll(key), key));
    }
  }

  const fromParams = decode(input, params, registry, "");
  if (route.body !== "*") return fromParams;
  const body = parts.body ?? {};
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw new BindingError("body", `expected a JSON object (${input.typeName})`);
  const message = decode(input, body, registry, "body");
  merge(input, message, fromParams);
  return message;
}

function decode(desc: DescMessage, json: JsonValue, registry: Registry, where: string): Message {
  try {
    return Object.keys(json as object).length === 0 ? create(desc) : fromJson(desc, json, { registry });
  } catch (err) {
    throw new BindingError(where, err instanceof Error ? err.message : String(err));
  }
}

/** Resolves "a.b_c" / "a.bC" to the fields on the way; undefined when a name is unknown. */
function resolveFieldPath(desc: DescMessage, names: string[]): DescField[] | undefined {
  const out: DescField[] = [];
  let message: DescMessage | undefined = desc;
  for (const [i, name] of names.entries()) {
    const field: DescField | undefined = message?.fields.find((f) => f.name === name || f.jsonName === name);
    if (field === undefined) return undefined;
    out.push(field);
    const last = i === names.length - 1;
    if (!last) {
      if (field.fieldKind !== "message" || STRING_VALUED_MESSAGES.has(field.message.typeName) || wrappedScalar(field.message) !== undefined) return undefined;
      message = field.message;
    }
  }
  return out;
}

function setIn(tree: JsonObject, fields: DescField[], value: JsonValue): void {
  let node = tree;
  for (const field of fields.slice(0, -1)) {
    const next = node[field.jsonName];
    if (next === undefined || next === null || typeof next !== "object" || Array.isArray(next)) node[field.jsonName] = {};
    node = node[field.jsonName] as JsonObject;
  }
  node[fields[fields.length - 1]!.jsonName] = value;
}

/** Well-known messages whose canonical JSON is a string. */
const STRING_VALUED_MESSAGES = new Set(["google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.FieldMask"]);

/** The JSON value of a path or query parameter, checked against the field's type. */
function jsonValueOf(field: DescField, values: string[], name: string): JsonValue {
  switch (field.fieldKind) {
    case "list":
      return values.map((v) => {
        if (field.listKind === "scalar") return scalarJson(field.scalar, v, name);
        if (field.listKind === "enum") return enumJson(field.enum.values, v, name);
        return messageJson(field.message, v, name);
      });
    case "map":
      throw new BindingError(name, "map fields cannot be set from the query string");
    default: {
      if (values.length > 1) throw new BindingError(name, `expected one value (got ${values.length}); only repeated fields take several`);
      const value = values[0]!;
      if (field.fieldKind === "scalar") return scalarJson(field.scalar, value, name);
      if (field.fieldKind === "enum") return enumJson(field.enum.values, value, name);
      return messageJson(field.message, value, name);
    }
  }
}

function messageJson(message: DescMessage, value: string, name: string): JsonValue {
  switch (message.typeName) {
    case "google.protobuf.Timestamp":
      return timestampJson(value, name);
    case "google.protobuf.Duration":
      if (!/^-?\d+(\.\d{1,9})?s$/.test(value)) throw new BindingError(name, `expected a duration such as "1.5s" (got ${JSON.stringify(value)})`);
      return value;
    case "google.protobuf.FieldMask":
      return value;
  }
  const wrapped = wrappedScalar(message);
  if (wrapped !== undefined) return scalarJson(wrapped, value, name);
  throw new BindingError(name, `is a ${message.typeName} message: set its fields as ${name}.<field>`);
}

/** google.protobuf.Int32Value and friends: the scalar they wrap. */
function wrappedScalar(message: DescMessage): ScalarType | undefined {
  if (!message.typeName.startsWith("google.protobuf.") || !message.typeName.endsWith("Value")) return undefined;
  const value = message.fields.length === 1 ? message.fields[0] : undefined;
  return value?.name === "value" && value.fieldKind === "scalar" ? value.scalar : undefined;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** The date and time fields of "YYYY-MM-DD[THH:MM:SS...]" exist (no month 13, no February 30, no 25:00). */
function validCalendarTime(value: string): boolean {
  const [y, mo, d, h = 0, mi = 0, s = 0] = (value.match(/\d+/g) ?? []).slice(0, 6).map(Number) as number[];
  if (y === undefined || mo === undefined || d === undefined || y < 1) return false;
  const daysInMonth = new Date(Date.UTC(2000, mo, 0)).getUTCDate() + (mo === 2 && !(y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0)) ? -1 : 0);
  return mo >= 1 && mo <= 12 && d >= 1 && d <= daysInMonth && h <= 23 && mi <= 59 && s <= 60;
}

/** RFC 3339, a date (midnight UTC) or unix milliseconds, as the protos' comments promise for REST. */
function timestampJson(value: string, name: string): JsonValue {
  if (/^-?\d{1,15}$/.test(value)) {
    const date = new Date(Number(value));
    const year = date.getUTCFullYear();
    // google.protobuf.Timestamp spans the years 0001 to 9999.
    if (!Number.isNaN(date.getTime()) && year >= 1 && year <= 9999) return date.toISOString();
    throw new BindingError(name, `unix milliseconds outside the years 0001-9999 (got ${value})`);
  }
  if (RFC3339.test(value) && validCalendarTime(value)) return value.replace(/[t ]/, "T").replace(/z$/, "Z");
  if (DATE_ONLY.test(value) && validCalendarTime(value)) return `${value}T00:00:00Z`;
  throw new BindingError(name, `expected an RFC 3339 time (2024-05-01T12:00:00Z) or unix milliseconds (got ${echo(value)})`);
}

function enumJson(values: ReadonlyArray<{ name: string; number: number }>, value: string, name: string): JsonValue {
  const byName = values.find((v) => v.name === value) ?? values.find((v) => v.name.toLowerCase() === value.toLowerCase());
  if (byName !== undefined) return byName.name;
  if (/^-?\d+$/.test(value)) {
    const byNumber = values.find((v) => v.number === Number(value));
    if (byNumber !== undefined) return byNumber.name;
  }
  throw new BindingError(name, `expected one of ${values.map((v) => v.name).join(", ")} (got ${echo(value)})`);
}

const INT32 = { min: -(2 ** 31), max: 2 ** 31 - 1, what: "a 32-bit integer" };
const UINT32 = { min: 0, max: 2 ** 32 - 1, what: "an unsigned 32-bit integer" };
const INT64 = { min: -(2n ** 63n), max: 2n ** 63n - 1n, what: "a 64-bit integer" };
const UINT64 = { min: 0n, max: 2n ** 64n - 1n, what: "an unsigned 64-bit integer" };

function scalarJson(type: ScalarType, value: string, name: string): JsonValue {
  const bad = (what: string) => new BindingError(name, `expected ${what} (got ${echo(value)})`);
  switch (type) {
    case ScalarType.STRING:
      return value;
    case ScalarType.BYTES:
      if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(value)) throw bad("base64 bytes");
      return value;
    case ScalarType.BOOL:
      // Go's strconv.ParseBool, as grpc-gateway accepts.
      if (["true", "True", "TRUE", "t", "T", "1"].includes(value)) return true;
      if (["false", "False", "FALSE", "f", "F", "0"].includes(value)) return false;
      throw bad("true or false");
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
    case ScalarType.UINT32:
    case ScalarType.FIXED32: {
      const range = type === ScalarType.UINT32 || type === ScalarType.FIXED32 ? UINT32 : INT32;
      if (!/^-?\d+$/.test(value)) throw bad(range.what);
      const n = Number(value);
      if (n < range.min || n > range.max) throw bad(range.what);
      return n;
    }
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
    case ScalarType.UINT64:
    case ScalarType.FIXED64: {
      const range = type === ScalarType.UINT64 || type === ScalarType.FIXED64 ? UINT64 : INT64;
      if (!/^-?\d+$/.test(value)) throw bad(range.what);
      const n = BigInt(value);
      if (n < range.min || n > range.max) throw bad(range.what);
      return n.toString();
    }
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT: {
      if (value === "NaN" || value === "Infinity" || value === "-Infinity") return value;
      const n = Number(value);
      if (value.trim() === "" || !Number.isFinite(n)) throw bad("a number");
      return n;
    }
  }
}
