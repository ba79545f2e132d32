import { Client, credentials as grpcCredentials, type ChannelCredentials, type ClientOptions } from "@grpc/grpc-js";
import { AccountServiceService } from "../../gen/ibprovider/v1/account_service.js";
import { MarketDataServiceService } from "../../gen/ibprovider/v1/market_data_service.js";
import { RuntimeServiceService } from "../../gen/ibprovider/v1/runtime_service.js";
import { SymbolServiceService } from "../../gen/ibprovider/v1/symbol_service.js";
import { bearerTokenInterceptor } from "./auth.js";
import { DEFAULT_BACKOFF } from "./backoff.js";
import { orderMethods, type OrderMethods } from "./orderMethods.js";
import { streamMethods, unaryMethods, type StreamMethods, type UnaryMethods } from "./serviceMethods.js";

/** Unary RPCs as promises and server streams as resumable async iterables. */
export type ServiceMethods<S> = UnaryMethods<S> & StreamMethods<S>;

export interface IbProviderClientOptions {
  /** host:port of the gRPC listener. Default 127.0.0.1:50051 (`npm start`). */
  address?: string;
  /** PROVIDER_API_TOKEN of the service, sent as `Authorization: Bearer` on every call. */
  token?: string;
  /** Default: plaintext (the service's loopback default); `credentials.createSsl(ca)` when it serves TLS. */
  credentials?: ChannelCredentials;
  /** grpc-js channel options (keepalive, message sizes, ...). */
  channelOptions?: Partial<ClientOptions>;
}

/** The services of ib-provider over one HTTP/2 connection. */
export interface IbProviderClient {
  marketData: ServiceMethods<typeof MarketDataServiceService>;
  accounts: ServiceMethods<typeof AccountServiceService>;
  symbols: ServiceMethods<typeof SymbolServiceService>;
  runtime: ServiceMethods<typeof RuntimeServiceService>;
  /** OrderService as helpers (`place`, `cancel`, `executions`, ...): see {@link OrderMethods}. */
  orders: OrderMethods;
  /**
   * Closes the connection for new calls (grpc-js lets calls already open run to their end): end open
   * streams first, by breaking out of their loops or aborting their `signal`.
   */
  close(): void;
}

function methodsOf<S extends object>(client: Client, service: S): ServiceMethods<S> {
  return { ...unaryMethods(client, service), ...streamMethods(client, service) };
}

/**
 * A typed client for ib-provider, built on the generated code in gen/.
 *
 * @example
 * const client = createIbProviderClient({ token: process.env.PROVIDER_API_TOKEN });
 * const { symbol } = await client.symbols.getSymbol({ symbol: "BTCUSDT" });
 * for await (const item of client.marketData.streamTicks({ symbol: "BTCUSDT" })) { ... }
 * const { orders } = await client.orders.place({ clientOrderId: "my-1", symbol: "BTCUSDT", side: OrderSide.ORDER_SIDE_BUY, orderType: OrderType.ORDER_TYPE_MARKET, quantity: "0.01" });
 */
export function createIbProviderClient(options: IbProviderClientOptions = {}): IbProviderClient {
  const interceptors = [...(options.channelOptions?.interceptors ?? []), ...(options.token === undefined ? [] : [bearerTokenInterceptor(options.token)])];
  const client = new Client(options.address ?? "127.0.0.1:50051", options.credentials ?? grpcCredentials.createInsecure(), {
    // grpc-js waits up to 120 s between its own reconnect attempts, and a stream re-opened meanwhile fails
    // at once: keep the channel's backoff within the streams' so a resume happens when the service is back.
    "grpc.initial_reconnect_backoff_ms": DEFAULT_BACKOFF.initialMs,
    "grpc.max_reconnect_backoff_ms": DEFAULT_BACKOFF.maxMs,
    // grpc-js opens HTTP/2 streams with a 64 KiB window and never widens it (no BDP probing, unlike the
    // Python and Go clients): a stream then carries ~10 messages a second when batches are large. 8 MiB
    // lets a busy stream's batches through; measured in bench/ (a 10× throughput difference at flood).
    "grpc-node.flow_control_window": 8 * 1024 * 1024,
    ...options.channelOptions,
    interceptors,
  });
  return {
    marketData: methodsOf(client, MarketDataServiceService),
    accounts: methodsOf(client, AccountServiceService),
    symbols: methodsOf(client, SymbolServiceService),
    runtime: methodsOf(client, RuntimeServiceService),
    orders: orderMethods(client),
    close: () => client.close(),
  };
}
