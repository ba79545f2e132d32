import { Client, type CallOptions, type ChannelCredentials, type ClientReadableStream, type Metadata, type ServiceError } from "@grpc/grpc-js";

/** The bridge's view of a call's bytes: requests and responses stay serialized protobuf. */
const identity = (bytes: Buffer): Buffer => bytes;

export interface UnaryCall {
  response: Promise<Buffer>;
  cancel(): void;
}

/**
 * A gRPC client of our own server that speaks raw protobuf bytes for any method path. Going through
 * the real server (instead of calling handlers) keeps auth, validation, limits and errors exactly the
 * gRPC ones: the bridge only translates. One HTTP/2 connection carries every REST call.
 */
export class RpcChannel {
  private readonly client: Client;

  constructor(target: string, credentials: ChannelCredentials, options: Record<string, string | number> = {}) {
    this.client = new Client(target, credentials, {
      // Our server is the only peer: no message size cap beyond the server's own (a long GetCandles
      // window can exceed grpc-js's 4 MiB default).
      "grpc.max_receive_message_length": -1,
      // grpc-js's 64 KiB HTTP/2 window would cap a busy REST stream at ~10 batches a second (and make a
      // fast REST reader look "too slow" to the service): the same 8 MiB as src/client.
      "grpc-node.flow_control_window": 8 * 1024 * 1024,
      ...options,
    });
  }

  unary(path: string, request: Buffer, metadata: Metadata, options: CallOptions): UnaryCall {
    let cancel: () => void = () => undefined;
    const response = new Promise<Buffer>((resolve, reject) => {
      const call = this.client.makeUnaryRequest(path, identity, identity, request, metadata, options, (err: ServiceError | null, value?: Buffer) => {
        if (err !== null) reject(err);
        else resolve(value ?? Buffer.alloc(0));
      });
      cancel = () => call.cancel();
    });
    return { response, cancel };
  }

  serverStream(path: string, request: Buffer, metadata: Metadata, options: CallOptions): ClientReadableStream<Buffer> {
    return this.client.makeServerStreamRequest(path, identity, identity, request, metadata, options);
  }

  close(): void {
    this.client.close();
  }
}

export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === "number" && typeof (err as Partial<ServiceError>).details === "string";
}
