import { credentials, type Client, type ChannelOptions, type ChannelCredentials } from "@grpc/grpc-js";
import { afterEach } from "vitest";
import { createLogger } from "../../log/logger.js";
import { TokenAuthenticator } from "../auth.js";
import { GrpcServer, type GrpcServerOptions } from "../server.js";
import { noInstruments } from "./noInstruments.js";

/**
 * Servers for tests of what is open without a token (health, reflection): a GrpcServer knowing no
 * instrument, with a token no caller has, and clients each on a connection of their own (grpc-js would
 * otherwise share one subchannel between clients). Everything opened is closed after each test.
 */
export function useOpenServers<C extends Client>(ClientClass: new (address: string, creds: ChannelCredentials, options: ChannelOptions) => C) {
  const opened: { server: GrpcServer; clients: C[] }[] = [];
  afterEach(async () => {
    for (const { server, clients } of opened.splice(0)) {
      for (const client of clients) client.close();
      await server.shutdown();
    }
  });
  return async (options: Partial<GrpcServerOptions> = {}) => {
    const server = new GrpcServer({
      host: "127.0.0.1",
      port: 0,
      auth: new TokenAuthenticator("a-token-open-callers-do-not-have"),
      log: createLogger("silent"),
      shutdownGraceMs: 1_000,
      runtime: { provider: { apiToken: undefined, ib: undefined, ignoredConnectors: [] }, startedAt: new Date(), serviceVersion: "t", gateway: () => undefined, subscriptions: () => [] },
      adapter: noInstruments,
      ...options,
    });
    await server.start();
    const entry = { server, clients: [] as C[] };
    opened.push(entry);
    const connection = () => {
      const client = new ClientClass(server.address, credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 });
      entry.clients.push(client);
      return client;
    };
    return { server, connection };
  };
}
