import { ScalarType, type DescEnum, type DescField, type DescMessage, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { INTERVAL_NAMES, describeAcceptedIntervals } from "../domain/intervals.js";
import { CONNECTOR_TYPES, MARKET_TYPES } from "../domain/marketType.js";
import { MAX_DAYS } from "../grpc/requests/timeWindow.js";
import type { RpcRoute } from "./httpRules.js";
import { FORMAT_PARAMETER, type ResponseRenderer } from "./responseRenderer.js";
import { SourceComments } from "./sourceComments.js";

export interface OpenApiInfo {
  title: string;
  version: string;
  description: string;
}

/** Routes the bridge serves itself (health, metrics, docs): documented next to the RPCs. */
export interface OperationalRoute {
  path: string;
  summary: string;
  description: string;
  contentType: string;
  /** True when the route is open without a token. */
  open: boolean;
}

const STATUS_SCHEMA = "google.rpc.Status";

/**
 * What the request checks accept for fields the protos type as plain strings or integers, so that Swagger
 * UI offers a list and an example instead of an empty text box (by proto field name, wherever it is a
 * path or query parameter). Intervals list the Barfinex names; the aliases are accepted too.
 */
const PARAMETER_FACTS: Record<string, { schema: JsonObject; example: JsonValue; note?: string }> = {
  connector_type: { schema: { enum: [...CONNECTOR_TYPES] }, example: "ib" },
  market_type: { schema: { enum: [...MARKET_TYPES] }, example: "spot" },
  interval: { schema: { enum: [...INTERVAL_NAMES] }, example: "h1", note: `Also accepted: ${describeAcceptedIntervals().replace(/^.*\(aliases: (.*)\)$/, "$1")}.` },
  symbol: { schema: {}, example: "BTCUSDT" },
  days: { schema: { format: "int32", minimum: 0, maximum: MAX_DAYS }, example: 7, note: "0 counts as unset." },
};

/** A parameter of `field` (its schema, text and example), with PARAMETER_FACTS applied. */
function parameterOf(name: string, where: "path" | "query", field: DescField | undefined, schemas: SchemaCollector, comments: SourceComments): JsonObject {
  const facts = field === undefined ? undefined : PARAMETER_FACTS[field.name];
  const text = [field === undefined ? "" : comments.of(field), facts?.note ?? ""].filter((t) => t !== "").join(" ");
  const schema: JsonObject = { ...(field === undefined ? { type: "string" } : schemas.fieldSchema(field)), ...facts?.schema };
  if (text !== "" && !("$ref" in schema)) schema.description = text;
  return {
    name,
    in: where,
    required: where === "path",
    description: text,
    schema,
    ...(facts === undefined ? {} : { example: facts.example }),
    ...(field?.fieldKind === "list" ? { style: "form", explode: true } : {}),
  };
}

/**
 * OpenAPI 3 from the same google.api.http rules the bridge mounts, with the proto comments as text:
 * one operation per binding, path variables as path parameters, the other scalar fields (dotted for
 * nested messages) as query parameters, `body` as the request body, canonical proto3 JSON schemas.
 */
export function openApiDocument(routes: readonly RpcRoute[], info: OpenApiInfo, operational: readonly OperationalRoute[] = [], renderers: readonly ResponseRenderer[] = []): JsonObject {
  const comments = new SourceComments();
  const schemas = new SchemaCollector(comments);
  const paths: Record<string, JsonObject> = {};
  const tags = new Map<string, string>();

  for (const op of operational) {
    paths[op.path] = {
      get: {
        tags: ["Operations"],
        summary: op.summary,
        description: op.description,
        operationId: `Operations_${op.path.replace(/^\/api\//, "").replace(/[^A-Za-z0-9]+/g, "_")}`,
        ...(op.open ? { security: [] } : {}),
        responses: { "200": { description: op.summary, content: { [op.contentType]: { schema: { type: op.contentType === "application/json" ? "object" : "string" } } } } },
      },
    };
  }
  if (operational.length > 0) tags.set("Operations", "Health, metrics and this document (served by the REST bridge itself).");

  for (const route of routes) {
    const service = route.service.name;
    tags.set(service, comments.of(route.service));
    // Summary: the comment's first sentence (Swagger UI shows it in the list); description: all of it.
    const methodText = comments.of(route.method);
    const summary = /^[^]*?\.(?=\s|$)/.exec(methodText.split("\n\n")[0]!)?.[0] ?? methodText.split("\n\n")[0]!;
    const streaming = route.method.methodKind === "server_streaming";
    const pathFields = new Set(route.template.variables);
    const parameters: JsonObject[] = route.template.variables.map((fieldPath) => parameterOf(fieldPath, "path", fieldAt(route.method.input, fieldPath), schemas, comments));
    if (route.body !== "*") {
      for (const { name, field } of queryFields(route.method.input, "", new Set())) {
        if (pathFields.has(name) || name === route.body || name.startsWith(`${route.body}.`)) continue;
        parameters.push(parameterOf(name.split(".").map((part, i, all) => (i === all.length - 1 ? field.jsonName : part)).join("."), "query", field, schemas, comments));
      }
    }
    // Other forms of the answer (CSV candles): one more media type each, and the `format` parameter.
    const forms = streaming ? [] : renderers.filter((r) => r.grpcPath === route.grpcPath);
    if (forms.length > 0) {
      const description = `The answer's form: \`json\` (default) or ${forms.map((r) => `\`${r.format}\` (as \`Accept: ${r.mediaType}\`)`).join(", ")}. Errors are JSON in every form.`;
      parameters.push({ name: FORMAT_PARAMETER, in: "query", required: false, description, schema: { type: "string", enum: ["json", ...forms.map((r) => r.format)], description } });
    }
    const responseSchema: JsonObject =
      route.responseBody === ""
        ? schemas.ref(route.method.output)
        : schemas.fieldSchema(route.method.output.fields.find((f) => f.name === route.responseBody)!);
    const operation: JsonObject = {
      tags: [service],
      summary: summary.replace(/\s*\n\s*/g, " "),
      description: [unwrap(methodText), streaming ? STREAM_NOTE : ""].filter((t) => t !== "").join("\n\n"),
      operationId: `${service}_${route.method.name}${route.bindingIndex === 0 ? "" : String(route.bindingIndex + 1)}`,
      "x-grpc-method": route.grpcPath,
      parameters,
      responses: {
        "200": streaming
          ? {
              description: "A stream: one JSON object per line (`{\"result\": …}`, a last `{\"error\": …}` on failure), or Server-Sent Events with `Accept: text/event-stream`.",
              content: {
                "application/json": {
                  schema: { type: "object", properties: { result: responseSchema, error: { $ref: `#/components/schemas/${STATUS_SCHEMA}` } } },
                },
                "text/event-stream": { schema: { type: "string" } },
              },
            }
          : {
              description: ["OK", ...forms.map((r) => r.description)].join("\n\n"),
              content: { "application/json": { schema: responseSchema }, ...Object.fromEntries(forms.map((r) => [r.mediaType, { schema: { type: "string" } }])) },
            },
        default: { description: "An error: google.rpc.Status with ErrorInfo (and BadRequest for bad fields).", content: { "application/json": { schema: { $ref: `#/components/schemas/${STATUS_SCHEMA}` } } } },
      },
    };
    if (route.body !== "") {
      const bodySchema = route.body === "*" ? schemas.ref(route.method.input) : schemas.fieldSchema(route.method.input.fields.find((f) => f.name === route.body)!);
      operation.requestBody = { required: true, content: { "application/json": { schema: bodySchema } } };
    }
    const path = route.template.openApiPath;
    paths[path] = { ...(paths[path] ?? {}), [route.httpMethod.toLowerCase()]: operation };
  }

  const statusSchema: JsonObject = {
    type: "object",
    description: "google.rpc.Status: the gRPC status code, a message and typed details (each with \"@type\").",
    properties: {
      code: { type: "integer", format: "int32", description: "gRPC status code (3 INVALID_ARGUMENT, 5 NOT_FOUND, 16 UNAUTHENTICATED, ...)." },
      message: { type: "string" },
      details: { type: "array", items: { type: "object", properties: { "@type": { type: "string" } }, additionalProperties: true } },
    },
  };

  return {
    openapi: "3.0.3",
    info: { title: info.title, version: info.version, description: info.description },
    tags: [...tags].map(([name, description]) => ({ name, description })),
    security: [{ bearerAuth: [] }, { apiToken: [] }],
    paths,
    components: {
      securitySchemes: {
        bearerAuth: { type: "http", scheme: "bearer", description: "PROVIDER_API_TOKEN as `Authorization: Bearer <token>`." },
        apiToken: { type: "apiKey", in: "header", name: "x-api-token", description: "PROVIDER_API_TOKEN as `x-api-token: <token>`." },
      },
      schemas: { ...schemas.all(), [STATUS_SCHEMA]: statusSchema },
    },
  };
}

const STREAM_NOTE =
  "Server stream over HTTP: newline-delimited JSON (`{\"result\": …}` per line, `{\"error\": …}` last on failure) by default, Server-Sent Events with `Accept: text/event-stream`. Closing the connection cancels the stream.";

/** Joins a comment's wrapped lines into paragraphs (Markdown would keep them apart anyway). */
function unwrap(text: string): string {
  return text
    .split("\n\n")
    .map((p) => p.replace(/\s*\n\s*/g, " "))
    .join("\n\n");
}

function fieldAt(message: DescMessage, path: string): DescField | undefined {
  let current: DescMessage | undefined = message;
  let field: DescField | undefined;
  for (const name of path.split(".")) {
    field = current?.fields.find((f) => f.name === name);
    if (field === undefined) return undefined;
    current = field.fieldKind === "message" ? field.message : undefined;
  }
  return field;
}

const STRING_JSON = new Set(["google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.FieldMask"]);

/** Fields settable from the query string: scalars, enums, string-valued well-known types; nested by dots. */
function queryFields(message: DescMessage, prefix: string, seen: Set<string>): { name: string; field: DescField }[] {
  const out: { name: string; field: DescField }[] = [];
  for (const field of message.fields) {
    const name = prefix + field.name;
    if (field.fieldKind === "map") continue;
    if (field.fieldKind === "message" && !STRING_JSON.has(field.message.typeName) && !field.message.typeName.endsWith("Value")) {
      if (seen.has(field.message.typeName)) continue; // recursive messages stop here
      out.push(...queryFields(field.message, `${name}.`, new Set([...seen, message.typeName])));
      continue;
    }
    if (field.fieldKind === "list" && field.listKind === "message" && !STRING_JSON.has(field.message.typeName)) continue;
    out.push({ name, field });
  }
  return out;
}

/** JSON schemas of the messages and enums the operations reach, keyed by full proto name. */
class SchemaCollector {
  private readonly schemas = new Map<string, JsonObject>();

  constructor(private readonly comments: SourceComments) {}

  all(): Record<string, JsonObject> {
    return Object.fromEntries([...this.schemas].sort(([a], [b]) => a.localeCompare(b)));
  }

  ref(message: DescMessage): JsonObject {
    const wkt = wellKnownSchema(message.typeName);
    if (wkt !== undefined) return wkt;
    if (!this.schemas.has(message.typeName)) {
      const schema: JsonObject = { type: "object", description: this.comments.of(message), properties: {} };
      this.schemas.set(message.typeName, schema); // before the fields: recursive types refer to it
      const properties: JsonObject = {};
      for (const field of message.fields) properties[field.jsonName] = this.fieldSchema(field);
      schema.properties = properties;
      const oneofs = message.oneofs.filter((o) => !o.proto.name.startsWith("_"));
      if (oneofs.length > 0) {
        schema.description = [schema.description as string, ...oneofs.map((o) => `At most one of: ${o.fields.map((f) => f.jsonName).join(", ")}.`)].filter((t) => t !== "").join("\n\n");
      }
    }
    return { $ref: `#/components/schemas/${message.typeName}` };
  }

  fieldSchema(field: DescField): JsonObject {
    const description = this.comments.of(field);
    const withText = (schema: JsonObject): JsonObject => (description === "" || "$ref" in schema ? schema : { ...schema, description });
    switch (field.fieldKind) {
      case "scalar":
        return withText(scalarSchema(field.scalar));
      case "enum":
        return withText(this.enumSchema(field.enum));
      case "message":
        return withText(this.ref(field.message));
      case "list": {
        const items = field.listKind === "scalar" ? scalarSchema(field.scalar) : field.listKind === "enum" ? this.enumSchema(field.enum) : this.ref(field.message);
        return withText({ type: "array", items });
      }
      case "map": {
        const values = field.mapKind === "scalar" ? scalarSchema(field.scalar) : field.mapKind === "enum" ? this.enumSchema(field.enum) : this.ref(field.message);
        return withText({ type: "object", additionalProperties: values });
      }
    }
  }

  private enumSchema(desc: DescEnum): JsonObject {
    const text = desc.values.map((v) => `- ${v.name}: ${this.comments.of(v).replace(/\n/g, " ")}`).join("\n");
    return { type: "string", enum: desc.values.map((v) => v.name), description: [this.comments.of(desc), text].filter((t) => t !== "").join("\n\n") };
  }
}

function scalarSchema(type: ScalarType): JsonObject {
  switch (type) {
    case ScalarType.STRING:
      return { type: "string" };
    case ScalarType.BYTES:
      return { type: "string", format: "byte" };
    case ScalarType.BOOL:
      return { type: "boolean" };
    case ScalarType.DOUBLE:
      return { type: "number", format: "double" };
    case ScalarType.FLOAT:
      return { type: "number", format: "float" };
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return { type: "integer", format: "int32" };
    // A JSON number (unlike 64-bit integers below); "int64" here would read as a string-encoded int64.
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { type: "integer", format: "uint32", minimum: 0, maximum: 4_294_967_295 };
    // 64-bit integers are strings in proto3 JSON (JavaScript numbers lose precision past 2^53).
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return { type: "string", format: "int64" };
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return { type: "string", format: "uint64" };
  }
}

function wellKnownSchema(typeName: string): JsonObject | undefined {
  const schemas: Record<string, JsonValue> = {
    "google.protobuf.Timestamp": { type: "string", format: "date-time", description: "RFC 3339 (query parameters also take unix milliseconds)." },
    "google.protobuf.Duration": { type: "string", description: "Seconds with an \"s\" suffix, e.g. \"1.5s\"." },
    "google.protobuf.FieldMask": { type: "string" },
    "google.protobuf.Any": { type: "object", properties: { "@type": { type: "string" } }, additionalProperties: true },
    "google.protobuf.Struct": { type: "object", additionalProperties: true },
    "google.protobuf.Empty": { type: "object" },
  };
  return schemas[typeName] as JsonObject | undefined;
}
