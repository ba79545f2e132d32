import { getExtension, hasExtension, toJson, type DescExtension, type DescMethod, type DescService, type FileRegistry } from "@bufbuild/protobuf";
import { z } from "zod";
import { parsePathTemplate, type PathTemplate } from "./pathTemplate.js";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** One HTTP binding of an RPC: the rule itself or one of its additional_bindings. */
export interface RpcRoute {
  service: DescService;
  method: DescMethod;
  /** gRPC path, e.g. "/ibprovider.v1.RuntimeService/GetRuntimeProof". */
  grpcPath: string;
  httpMethod: HttpMethod;
  template: PathTemplate;
  /** "" (no body), "*" (the whole request) or a top-level request field name. */
  body: string;
  /** "" (the whole response) or a top-level response field name. */
  responseBody: string;
  /** 0 for the rule, 1.. for its additional_bindings (OpenAPI operation ids stay unique). */
  bindingIndex: number;
}

// google.api.HttpRule in canonical JSON; only the fields a route needs.
const patternJson = {
  get: z.string().optional(),
  put: z.string().optional(),
  post: z.string().optional(),
  delete: z.string().optional(),
  patch: z.string().optional(),
  custom: z.object({ kind: z.string(), path: z.string() }).optional(),
  body: z.string().optional(),
  responseBody: z.string().optional(),
};
const httpRuleJson = z.object({ ...patternJson, additionalBindings: z.array(z.object(patternJson)).optional() });
type HttpRuleBinding = z.infer<z.ZodObject<typeof patternJson>>;

/**
 * Every google.api.http binding of every RPC in the registry, as the bridge mounts them. Adding an
 * annotated RPC to a proto adds its route here: nothing else in the bridge names an RPC.
 */
export function rpcRoutes(registry: FileRegistry): RpcRoute[] {
  const httpExtension = registry.getExtension("google.api.http");
  if (httpExtension === undefined) return [];
  const routes: RpcRoute[] = [];
  for (const file of registry.files) {
    for (const service of file.services) {
      for (const method of service.methods) {
        const rule = httpRuleOf(method, httpExtension);
        if (rule === undefined) continue;
        const bindings: HttpRuleBinding[] = [rule, ...(rule.additionalBindings ?? [])];
        bindings.forEach((binding, bindingIndex) => {
          routes.push(routeOf(service, method, binding, bindingIndex));
        });
      }
    }
  }
  return routes;
}

function httpRuleOf(method: DescMethod, extension: DescExtension): z.infer<typeof httpRuleJson> | undefined {
  const options = method.proto.options;
  if (options === undefined || !hasExtension(options, extension)) return undefined;
  const value = getExtension(options, extension);
  if (extension.fieldKind !== "message") throw new Error("google.api.http is not a message extension");
  const json = toJson(extension.message, value as Parameters<typeof toJson>[1]);
  return httpRuleJson.parse(json);
}

function routeOf(service: DescService, method: DescMethod, binding: HttpRuleBinding, bindingIndex: number): RpcRoute {
  const where = `${service.typeName}.${method.name}`;
  const patterns: [HttpMethod | string, string | undefined][] = [
    ["GET", binding.get],
    ["PUT", binding.put],
    ["POST", binding.post],
    ["DELETE", binding.delete],
    ["PATCH", binding.patch],
    [binding.custom?.kind.toUpperCase() ?? "", binding.custom?.path],
  ];
  const set = patterns.filter(([, path]) => path !== undefined && path !== "");
  if (set.length !== 1) throw new Error(`${where}: a google.api.http binding needs exactly one of get/put/post/delete/patch/custom`);
  const [httpMethod, path] = set[0]!;
  if (!isHttpMethod(httpMethod)) throw new Error(`${where}: unsupported custom HTTP method ${httpMethod}`);
  const body = binding.body ?? "";
  if (body !== "" && body !== "*" && method.input.fields.find((f) => f.name === body) === undefined) {
    throw new Error(`${where}: body ${JSON.stringify(body)} is not a field of ${method.input.typeName}`);
  }
  const responseBody = binding.responseBody ?? "";
  if (responseBody !== "" && method.output.fields.find((f) => f.name === responseBody) === undefined) {
    throw new Error(`${where}: response_body ${JSON.stringify(responseBody)} is not a field of ${method.output.typeName}`);
  }
  if (method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming") {
    throw new Error(`${where}: client streams cannot be bridged to REST`);
  }
  return {
    service,
    method,
    grpcPath: `/${service.typeName}/${method.name}`,
    httpMethod,
    template: parsePathTemplate(path!),
    body,
    responseBody,
    bindingIndex,
  };
}

function isHttpMethod(m: string): m is HttpMethod {
  return m === "GET" || m === "POST" || m === "PUT" || m === "PATCH" || m === "DELETE";
}
