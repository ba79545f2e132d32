import type { EnvConfig } from "./envConfig.js";

/** The listeners the service opens, in start-up order, with the variables that place them. */
interface Listener {
  what: string;
  portVariable: "SIMULATOR_PORT" | "GRPC_PORT" | "REST_PORT";
  hostVariable: "GRPC_HOST" | "REST_HOST" | undefined;
  port: number;
}

function listenersOf(env: EnvConfig, simulated: boolean): Listener[] {
  return [
    ...(simulated ? [{ what: "the simulated IB Gateway", portVariable: "SIMULATOR_PORT", hostVariable: undefined, port: env.SIMULATOR_PORT } as const] : []),
    { what: "gRPC", portVariable: "GRPC_PORT", hostVariable: "GRPC_HOST", port: env.GRPC_PORT },
    { what: "REST", portVariable: "REST_PORT", hostVariable: "REST_HOST", port: env.REST_PORT },
  ];
}

/**
 * Two listeners given the same port: the second would fail with "address in use" against the first, a
 * message that sends the operator looking for another program. A config problem instead (0 = any free port).
 */
export function samePortProblem(env: EnvConfig, simulated: boolean): string | undefined {
  const byPort = new Map<number, string[]>();
  for (const l of listenersOf(env, simulated)) if (l.port !== 0) byPort.set(l.port, [...(byPort.get(l.port) ?? []), l.portVariable]);
  const shared = [...byPort].find(([, names]) => names.length > 1);
  return shared === undefined ? undefined : `${shared[1].join(" and ")} are both ${shared[0]}: each listener needs its own port`;
}

const LISTEN_CODES = ["EADDRINUSE", "EACCES", "EADDRNOTAVAIL"] as const;
type ListenCode = (typeof LISTEN_CODES)[number];

/**
 * Node's listen errors carry code/address/port; grpc-js's bindAsync folds them into its message
 * ("No address added out of total 1 resolved errors: [listen EADDRINUSE: address already in use 127.0.0.1:50051]").
 */
function listenFailureOf(err: unknown): { code: ListenCode; port: number; address: string | undefined } | undefined {
  if (!(err instanceof Error)) return undefined;
  const e = err as NodeJS.ErrnoException & { port?: unknown; address?: unknown };
  if (LISTEN_CODES.includes(e.code as ListenCode) && typeof e.port === "number") {
    return { code: e.code as ListenCode, port: e.port, address: typeof e.address === "string" ? e.address : undefined };
  }
  const m = /\b(EADDRINUSE|EACCES|EADDRNOTAVAIL)\b[^\]]*?\s\[?([^\s\]]*)\]?:(\d+)\]?/.exec(err.message);
  return m === null ? undefined : { code: m[1] as ListenCode, address: m[2] || undefined, port: Number(m[3]) };
}

/**
 * One line for a listener that could not open, naming the variable to change (as config errors name
 * theirs), or undefined when `err` is not a listen failure of ours. No stack: nothing in the code is wrong.
 */
export function listenProblemOf(err: unknown, env: EnvConfig, simulated: boolean): string | undefined {
  const failure = listenFailureOf(err);
  if (failure === undefined) return undefined;
  const listener = listenersOf(env, simulated).find((l) => l.port === failure.port && l.port !== 0);
  if (listener === undefined) return undefined;
  const at = `${failure.address ?? "its address"}:${failure.port}`;
  switch (failure.code) {
    case "EADDRINUSE":
      return `${listener.what} cannot listen on ${at}: the port is already in use (another ib-provider or another program); stop it or set ${listener.portVariable} to a free port`;
    case "EACCES":
      return `${listener.what} may not listen on ${at}: ports below 1024 need privileges; set ${listener.portVariable} to a port from 1024 up`;
    case "EADDRNOTAVAIL":
      return `${listener.what} cannot listen on ${at}: not an address of this machine; set ${listener.hostVariable ?? "the host"} to one of its addresses (127.0.0.1 for this machine only)`;
  }
}
