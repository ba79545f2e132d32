import { describe, expect, it } from "vitest";
import { envSchema } from "./envConfig.js";
import { listenProblemOf } from "./listenProblem.js";

const env = envSchema.parse({ GRPC_PORT: "50051", REST_PORT: "8081", SIMULATOR_PORT: "4002" });

/** A listen error as Node's net module makes it. */
function netError(code: string, address: string, port: number): Error {
  return Object.assign(new Error(`listen ${code}: ${address}:${port}`), { code, syscall: "listen", address, port });
}

describe("a listener that cannot open", () => {
  it("names REST_PORT for Node's EADDRINUSE on the REST port", () => {
    expect(listenProblemOf(netError("EADDRINUSE", "127.0.0.1", 8081), env, true)).toBe(
      "REST cannot listen on 127.0.0.1:8081: the port is already in use (another ib-provider or another program); stop it or set REST_PORT to a free port",
    );
  });

  it("reads grpc-js's bind error, IPv4 and IPv6", () => {
    const v4 = new Error("No address added out of total 1 resolved errors: [listen EADDRINUSE: address already in use 127.0.0.1:50051]");
    expect(listenProblemOf(v4, env, true)).toMatch(/^gRPC cannot listen on 127\.0\.0\.1:50051: .*set GRPC_PORT to a free port$/);
    const v6 = new Error("No address added out of total 1 resolved errors: [listen EADDRINUSE: address already in use ::1:50051]");
    expect(listenProblemOf(v6, env, true)).toMatch(/^gRPC cannot listen on ::1:50051: /);
  });

  it("names SIMULATOR_PORT only when the simulator runs", () => {
    expect(listenProblemOf(netError("EADDRINUSE", "127.0.0.1", 4002), env, true)).toContain("set SIMULATOR_PORT");
    expect(listenProblemOf(netError("EADDRINUSE", "127.0.0.1", 4002), env, false)).toBeUndefined();
  });

  it("says what to do for a privileged port and for a host not of this machine", () => {
    const low = envSchema.parse({ REST_PORT: "80" });
    expect(listenProblemOf(netError("EACCES", "0.0.0.0", 80), low, false)).toContain("ports below 1024 need privileges; set REST_PORT to a port from 1024 up");
    expect(listenProblemOf(netError("EADDRNOTAVAIL", "10.9.8.7", 50051), env, false)).toContain("not an address of this machine; set GRPC_HOST");
  });

  it("leaves other errors alone (they keep their stack)", () => {
    expect(listenProblemOf(new Error("boom"), env, true)).toBeUndefined();
    expect(listenProblemOf(netError("EADDRINUSE", "127.0.0.1", 9999), env, true)).toBeUndefined();
    expect(listenProblemOf("EADDRINUSE", env, true)).toBeUndefined();
  });
});
