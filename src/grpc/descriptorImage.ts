import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema, type FileDescriptorSet } from "@bufbuild/protobuf/wkt";

/** gen/ibprovider.binpb: the `buf build` image of proto/ (with imports and comments), written by `npm run gen`. */
export const DESCRIPTOR_IMAGE_PATH = fileURLToPath(new URL("../../gen/ibprovider.binpb", import.meta.url));

let cached: FileDescriptorSet | undefined;

/** A buf image is wire-compatible with google.protobuf.FileDescriptorSet. */
export function loadDescriptorSet(): FileDescriptorSet {
  cached ??= fromBinary(FileDescriptorSetSchema, readFileSync(DESCRIPTOR_IMAGE_PATH));
  return cached;
}

/** Serialized FileDescriptorProtos, in dependency order, for @grpc/reflection. */
export function serializedFileDescriptors(): Buffer[] {
  return loadDescriptorSet().file.map((f) => Buffer.from(toBinary(FileDescriptorProtoSchema, f)));
}
