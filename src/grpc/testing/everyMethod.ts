import { Client, credentials, Metadata, type ServiceDefinition, type ServiceError } from "@grpc/grpc-js";

const identity = (bytes: Buffer): Buffer => bytes;

/**
 * Calls every method of `definition` at `address` with an empty request (each field its default), unary or
 * server-streaming as the method is, and gives each call's error by method name ("PlaceOrder"), or undefined
 * for a call that succeeded (a stream: its first message, or its end without an error). For services that must
 * refuse every call, and scopes.
 */
export async function errorsOfEveryMethod(address: string, definition: ServiceDefinition, metadata: () => Metadata = () => new Metadata()): Promise<Map<string, ServiceError | undefined>> {
  const client = new Client(address, credentials.createInsecure());
  try {
    const out = new Map<string, ServiceError | undefined>();
    for (const method of Object.values(definition)) {
      const name = method.path.slice(method.path.lastIndexOf("/") + 1);
      const options = { deadline: Date.now() + 10_000 };
      const error = await new Promise<ServiceError | undefined>((resolve) => {
        if (!method.responseStream) {
          client.makeUnaryRequest(method.path, identity, identity, Buffer.alloc(0), metadata(), options, (err) => resolve(err ?? undefined));
          return;
        }
        const stream = client.makeServerStreamRequest(method.path, identity, identity, Buffer.alloc(0), metadata(), options);
        // A stream that answers is not refused: its first message is the outcome (it would run until the deadline).
        stream.on("data", () => {
          resolve(undefined);
          stream.cancel();
        });
        stream.on("error", (err: ServiceError) => resolve(err));
        stream.on("end", () => resolve(undefined));
      });
      out.set(name, error);
    }
    return out;
  } finally {
    client.close();
  }
}
