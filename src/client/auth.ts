import { InterceptingCall, type Interceptor } from "@grpc/grpc-js";

/**
 * Sends `Authorization: Bearer <token>` on every call of a client. An interceptor rather than call
 * credentials because grpc-js refuses call credentials on plaintext channels, and loopback is plaintext.
 */
export function bearerTokenInterceptor(token: string): Interceptor {
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set("authorization", `Bearer ${token}`);
        next(metadata, listener);
      },
    });
}
