import type { ClientDuplexStream, ClientReadableStream, ServiceError } from "@grpc/grpc-js";

/** "open" once a stream's first message arrives, or the error it ended with; fails after `timeoutMs`. */
export function firstOutcome(stream: ClientReadableStream<unknown> | ClientDuplexStream<unknown, unknown>, timeoutMs = 5_000): Promise<"open" | ServiceError> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`a stream neither answered nor failed within ${timeoutMs} ms`)), timeoutMs);
    stream.once("data", () => {
      clearTimeout(timer);
      resolve("open");
    });
    stream.once("error", (err: ServiceError) => {
      clearTimeout(timer);
      resolve(err);
    });
  });
}
