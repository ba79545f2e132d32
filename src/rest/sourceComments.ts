import type { DescEnum, DescEnumValue, DescField, DescFile, DescMessage, DescMethod, DescService } from "@bufbuild/protobuf";

type Commented = DescMessage | DescField | DescEnum | DescEnumValue | DescService | DescMethod;

/**
 * The proto comments of a descriptor, from the image's SourceCodeInfo (buf build keeps it): they
 * become the OpenAPI text. Leading comment first, then the trailing one; "" when there is none.
 */
export class SourceComments {
  private readonly byFile = new Map<DescFile, Map<string, string>>();

  of(desc: Commented): string {
    const file = fileOf(desc);
    let index = this.byFile.get(file);
    if (index === undefined) {
      index = new Map();
      for (const location of file.proto.sourceCodeInfo?.location ?? []) {
        const text = [location.leadingComments, location.trailingComments]
          .map((c) => (c ?? "").split("\n").map((line) => line.replace(/^ /, "")).join("\n").trim())
          .filter((c) => c !== "")
          .join("\n\n");
        if (text !== "") index.set(location.path.join(","), text);
      }
      this.byFile.set(file, index);
    }
    return index.get(pathOf(desc).join(",")) ?? "";
  }
}

function fileOf(desc: Commented): DescFile {
  switch (desc.kind) {
    case "enum_value":
      return desc.parent.file;
    case "rpc":
      return desc.parent.file;
    case "field":
      return desc.parent.file;
    default:
      return desc.file;
  }
}

// Field numbers in descriptor.proto: FileDescriptorProto.message_type 4, enum_type 5, service 6;
// DescriptorProto.field 2, nested_type 3, enum_type 4; EnumDescriptorProto.value 2; ServiceDescriptorProto.method 2.
function pathOf(desc: Commented): number[] {
  switch (desc.kind) {
    case "message":
      return desc.parent === undefined
        ? [4, desc.file.proto.messageType.indexOf(desc.proto)]
        : [...pathOf(desc.parent), 3, desc.parent.proto.nestedType.indexOf(desc.proto)];
    case "field":
      return [...pathOf(desc.parent), 2, desc.parent.proto.field.indexOf(desc.proto)];
    case "enum":
      return desc.parent === undefined
        ? [5, desc.file.proto.enumType.indexOf(desc.proto)]
        : [...pathOf(desc.parent), 4, desc.parent.proto.enumType.indexOf(desc.proto)];
    case "enum_value":
      return [...pathOf(desc.parent), 2, desc.parent.proto.value.indexOf(desc.proto)];
    case "service":
      return [6, desc.file.proto.service.indexOf(desc.proto)];
    case "rpc":
      return [...pathOf(desc.parent), 2, desc.parent.proto.method.indexOf(desc.proto)];
  }
}
