import type { Server } from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";
import type { PackageDefinition } from "@grpc/proto-loader";
import { serializedFileDescriptors } from "./descriptorImage.js";

/**
 * Server reflection from the committed descriptor image, so `buf curl` (and grpcurl-style tools) can call
 * the API with no .proto files at hand. @grpc/reflection only reads `fileDescriptorProtos` from the
 * package definition, so one synthetic entry carrying every file is enough.
 */
export function addReflection(server: Server): void {
  const packageDefinition = {
    "ibprovider.image": { format: "Protocol Buffer 3 DescriptorProto", type: {}, fileDescriptorProtos: serializedFileDescriptors() },
  } as unknown as PackageDefinition;
  new ReflectionService(packageDefinition).addToServer(server);
}
