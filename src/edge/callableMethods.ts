import { createFileRegistry } from "@bufbuild/protobuf";
import type { FileDescriptorSet } from "@bufbuild/protobuf/wkt";

/** Our API's methods by gRPC path, and whether each streams (from the compiled protos). */
export function apiMethods(descriptors: FileDescriptorSet): Map<string, { streaming: boolean }> {
  const methods = new Map<string, { streaming: boolean }>();
  for (const file of createFileRegistry(descriptors).files) {
    if (file.proto.package !== "ibprovider.v1") continue;
    for (const service of file.services) {
      for (const method of service.methods) methods.set(`/${service.typeName}/${method.name}`, { streaming: method.methodKind === "server_streaming" });
    }
  }
  return methods;
}

/** The unary ones' paths: what edges may call on the provider over the bus. */
export function unaryMethodsOf(descriptors: FileDescriptorSet): Set<string> {
  return new Set([...apiMethods(descriptors)].filter(([, m]) => !m.streaming).map(([path]) => path));
}

