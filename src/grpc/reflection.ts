import { status, type Server, type ServerDuplexStream, type UntypedServiceImplementation } from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";
import type { PackageDefinition } from "@grpc/proto-loader";
import { ApiError } from "./apiError.js";
import { serializedFileDescriptors } from "./descriptorImage.js";
import { PeerStreamLimits, type StreamLimits } from "./peerStreamLimits.js";
import { toServiceError } from "./statusDetails.js";

/**
 * Open ServerReflectionInfo streams (v1 and v1alpha together) per connection and in total. Reflection needs
 * no token, so unbounded it would let anyone who can connect hold server memory as Watch streams once did.
 * `buf curl` and grpcurl open one per invocation.
 */
export type ReflectionLimits = StreamLimits;

export const DEFAULT_REFLECTION_LIMITS: ReflectionLimits = { perConnection: 16, total: 256 };

/**
 * Server reflection from the committed descriptor image, so `buf curl` (and grpcurl-style tools) can call
 * the API with no .proto files at hand. @grpc/reflection only reads `fileDescriptorProtos` from the
 * package definition, so one synthetic entry carrying every file is enough. Its streams are bounded per
 * connection and in total (RESOURCE_EXHAUSTED REFLECTION_STREAM_LIMIT beyond), and each stream reads no
 * more requests while its answers wait for the client: see the returned ReflectionStreams.
 */
export function addReflection(server: Server, limits: ReflectionLimits = DEFAULT_REFLECTION_LIMITS): ReflectionStreams {
  const packageDefinition = {
    "ibprovider.image": { format: "Protocol Buffer 3 DescriptorProto", type: {}, fileDescriptorProtos: serializedFileDescriptors() },
  } as unknown as PackageDefinition;
  const streams = new ReflectionStreams(new PeerStreamLimits(limits, reflectionLimit));
  // @grpc/reflection registers its handlers itself: hand it a server whose addService bounds them first.
  const bounding = {
    addService: (definition: Parameters<Server["addService"]>[0], implementation: UntypedServiceImplementation) =>
      server.addService(definition, bounded(implementation, streams)),
  } as unknown as Server;
  new ReflectionService(packageDefinition).addToServer(bounding);
  return streams;
}

/** The open reflection streams and what they hold back (tests and the server read it). */
export class ReflectionStreams {
  /** Answers written to clients. */
  answered = 0;
  /** Streams whose requests are not read while their answers wait for the client. */
  paused = 0;

  constructor(readonly limits: PeerStreamLimits) {}

  /** Open streams: in total, and on the busiest connection. */
  get open(): { total: number; maxPerConnection: number } {
    return this.limits.open;
  }
}

/**
 * Each bidi handler admitted first (its place given back when the stream ends, however), and held to its
 * client's reading: @grpc/reflection answers every request with a write that does not wait, so a client
 * that keeps asking and never reads would pile answers up in server memory within one stream. While an
 * answer waits, the stream reads no more requests (HTTP/2 flow control then holds the client's).
 */
function bounded(implementation: UntypedServiceImplementation, streams: ReflectionStreams): UntypedServiceImplementation {
  const wrapped: UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(implementation)) {
    wrapped[name] = (call: ServerDuplexStream<unknown, unknown>) => {
      const release = streams.limits.admit(call.getPeer());
      if (release instanceof ApiError) {
        call.emit("error", toServiceError(release));
        return;
      }
      let held = false;
      const unhold = () => {
        if (!held) return;
        held = false;
        streams.paused--;
      };
      // 'finish': our status went out; 'cancelled'/'close': the client or the connection went away.
      for (const event of ["finish", "cancelled", "close"]) {
        call.once(event, release);
        call.once(event, unhold);
      }
      const write = call.write.bind(call) as (message: unknown) => boolean;
      call.write = ((message: unknown) => {
        streams.answered++;
        const accepted = write(message);
        if (!accepted && !held) {
          held = true;
          streams.paused++;
          call.pause();
          call.once("drain", () => {
            unhold();
            call.resume();
          });
        }
        return accepted;
      }) as typeof call.write;
      (handler as (call: ServerDuplexStream<unknown, unknown>) => void)(call);
    };
  }
  return wrapped;
}

function reflectionLimit(scope: "connection" | "server", limit: number): ApiError {
  const message =
    scope === "connection"
      ? `at most ${limit} reflection streams per connection are open; close one first`
      : `the server holds its maximum of ${limit} reflection streams; retry later`;
  return new ApiError(status.RESOURCE_EXHAUSTED, message, "REFLECTION_STREAM_LIMIT", { limit: String(limit), scope });
}
