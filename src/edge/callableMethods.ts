import { createFileRegistry } from "@bufbuild/protobuf";
import type { FileDescriptorSet } from "@bufbuild/protobuf/wkt";
import { status } from "@grpc/grpc-js";
import { ApiError } from "../grpc/apiError.js";

/**
 * Services an edge does not serve: it answers them UNIMPLEMENTED (NOT_SERVED_AT_EDGE) and the provider takes
 * none of their calls over the bus. Orders are placed on the provider itself until an edge can relay them with
 * the guarantees they need (an order is never sent twice: a bus call that times out could not say whether it
 * was).
 */
export const SERVICES_NOT_AT_EDGE: ReadonlySet<string> = new Set(["ibprovider.v1.OrderService"]);

/** What an edge answers for a method it does not serve. */
export function notServedAtEdge(method: string): ApiError {
  return new ApiError(status.UNIMPLEMENTED, `${method.slice(0, 120)} is not served by an edge: call it on the provider`, "NOT_SERVED_AT_EDGE");
}

/** Our API's methods by gRPC path: whether each streams, and whether an edge serves it (from the compiled protos). */
export function apiMethods(descriptors: FileDescriptorSet): Map<string, { streaming: boolean; atEdge: boolean }> {
  const methods = new Map<string, { streaming: boolean; atEdge: boolean }>();
  for (const file of createFileRegistry(descriptors).files) {
    if (file.proto.package !== "ibprovider.v1") continue;
    for (const service of file.services) {
      const atEdge = !SERVICES_NOT_AT_EDGE.has(service.typeName);
      for (const method of service.methods) methods.set(`/${service.typeName}/${method.name}`, { streaming: method.methodKind === "server_streaming", atEdge });
    }
  }
  return methods;
}

/** The unary ones an edge serves: what edges may call on the provider over the bus. */
export function unaryMethodsOf(descriptors: FileDescriptorSet): Set<string> {
  return new Set([...apiMethods(descriptors)].filter(([, m]) => !m.streaming && m.atEdge).map(([path]) => path));
}
