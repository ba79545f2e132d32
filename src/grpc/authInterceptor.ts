import { ResponderBuilder, ServerInterceptingCall, ServerListenerBuilder, type ServerInterceptor } from "@grpc/grpc-js";
import { status as GrpcStatus } from "@grpc/grpc-js";
import type { AccessLog } from "./accessLog.js";
import type { TokenAuthenticator } from "./auth.js";
import { ApiError } from "./apiError.js";
import { rememberClient } from "./callClient.js";
import { ANONYMOUS_CLIENT_NAME } from "../config/clientsFile.js";
import { scopeRefusal } from "./scopes.js";
import { toServiceError } from "./statusDetails.js";

/**
 * Open without a token: health checks (load balancers and orchestrators expect that) and server
 * reflection, which only describes the public schema; `buf curl` sends -H headers to reflection only
 * with --reflect-header, so a protected reflection would break the obvious command line.
 */
const OPEN_PREFIXES = ["/grpc.health.v1.Health/", "/grpc.reflection.v1.ServerReflection/", "/grpc.reflection.v1alpha.ServerReflection/"];

/**
 * Checks the token before any handler runs and remembers whose it is (callClient.ts). A rejected call gets UNAUTHENTICATED
 * with a google.rpc.Status (ErrorInfo reason MISSING_TOKEN / INVALID_TOKEN), or PERMISSION_DENIED SCOPE_MISSING
 * when the client's scopes do not cover the service (scopes.ts); the server is unaffected.
 * A rejected call never reaches a handler: its access log line is written here.
 */
export function authInterceptor(auth: TokenAuthenticator, accessLog?: AccessLog): ServerInterceptor {
  return (methodDescriptor, call) => {
    const startedMs = performance.now();
    if (!auth.enabled) return new ServerInterceptingCall(call);
    if (OPEN_PREFIXES.some((p) => methodDescriptor.path.startsWith(p))) {
      // Open without a token, and still remembered: a call the interceptor did not see fails closed (callClient.ts).
      const open = new ServerListenerBuilder()
        .withOnReceiveMetadata((metadata, next) => {
          rememberClient(metadata, ANONYMOUS_CLIENT_NAME);
          next(metadata);
        })
        .build();
      return new ServerInterceptingCall(call, new ResponderBuilder().withStart((next) => next(open)).build());
    }
    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        const header = (name: string) => {
          const value = metadata.get(name)[0];
          return typeof value === "string" ? value : undefined;
        };
        const result = auth.authenticate(header("authorization"), header("x-api-token"));
        const refusal = result instanceof ApiError ? result : scopeRefusal(methodDescriptor.path, result.client, result.scopes);
        if (refusal === undefined && !(result instanceof ApiError)) {
          rememberClient(metadata, result.client);
          next(metadata);
          return;
        }
        const error = refusal!;
        const status = toServiceError(error);
        call.sendStatus({ code: error.code, details: status.details, metadata: status.metadata });
        accessLog?.write({
          protocol: "grpc",
          client: result instanceof ApiError ? "(unauthenticated)" : result.client,
          peer: call.getPeer(),
          method: methodDescriptor.path.slice(1).replace("/", "."),
          status: GrpcStatus[error.code] ?? String(error.code),
          ms: performance.now() - startedMs,
          bytesOut: 0,
        });
      })
      .build();
    const responder = new ResponderBuilder().withStart((next) => next(listener)).build();
    return new ServerInterceptingCall(call, responder);
  };
}
