import { DEFAULT_STREAM_SETTINGS, type StreamSettings } from "../stream/streamSettings.js";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { ANONYMOUS_CLIENT_NAME, DEFAULT_CLIENT_NAME, DEFAULT_CLIENT_QUOTAS, defaultClient, readClientsFile, SERVICE_CLIENT_NAME, TRADE_CLIENT_NAME, tradeClient, type ClientConfig } from "./clientsFile.js";
import { DEFAULT_ORDER_RAIL_SETTINGS, parseOrderRailSettings, type OrderRailSettings } from "../domain/orders/orderRailSettings.js";
import { ConfigError, formatJsonPath, problemsFromZod, readJsonFile, type ConfigProblem } from "./configError.js";
import { DEFAULT_PROVIDER_CONFIG_FILE, envSchema, nonEmptyEnv, type EnvConfig } from "./envConfig.js";
import { samePortProblem } from "./listenProblem.js";
import { isLoopbackHost, parseGatewayUrl, type GatewayAddress } from "./gatewayUrl.js";
import { ibConnectorSchema, providerSchema, type ProviderConfig } from "./providerConfig.js";
import { substituteEnv } from "./substituteEnv.js";
import type { IbAdapterOptions } from "../ib/ibAdapter.js";
import { DEFAULT_STORE_SETTINGS, IN_MEMORY, type StoreSettings } from "../store/storeSettings.js";
import { CLUSTER_LEADER_TTL_MS, DEFAULT_BUS_SETTINGS, type BusSettings } from "../bus/busSettings.js";
import { parseBusUrl, redactBusUrl } from "./busUrl.js";

/** Everything the service needs to start, validated. */
export interface AppConfig {
  env: EnvConfig;
  /** Real Gateway address, or undefined: then the embedded simulator runs (never as a silent fallback). */
  gateway: GatewayAddress | undefined;
  /** The API token, from PROVIDER_API_TOKEN or the provider file's apiToken; undefined = auth disabled. */
  apiToken: string | undefined;
  /**
   * Who may call: PROVIDER_CLIENTS_FILE's clients, plus `default` for the API token. Empty = authentication
   * off (loopback only); every call is then client `anonymous`.
   */
  clients: ClientConfig[];
  provider: ProviderConfig;
  /** Absolute path of the provider file that was read (undefined when the default one does not exist). */
  providerFile: string | undefined;
  /** What the operator should know but that does not stop start-up (main logs each as a warning). */
  warnings: string[];
  tls: { certFile: string; keyFile: string } | undefined;
  /** Browser origins allowed by the REST bridge's CORS ("*" = any); empty = no cross-origin access. */
  corsOrigins: string[];
  /** How every stream behaves (STREAM_* variables over DEFAULT_STREAM_SETTINGS). */
  streams: StreamSettings;
  /**
   * IB's historical pacing windows, over the ones IB documents (undefined = IB's). The windows are IB's,
   * not a setting: only the fair share between clients is read from the environment (HISTORY_CLIENT_RESERVE
   * → clientReserve). Tests scale the windows down to run against a simulator whose own windows are scaled
   * (startTestApp in src/testing).
   */
  historicalPacing?: IbAdapterOptions["historicalPacing"];
  /**
   * Who shares IB's lines (the adapter's clientLines): the clients (`anonymous` alone when authentication
   * is off) with their ibLines caps, and IB_LINES_RESERVE_PERCENT.
   */
  ibLines: NonNullable<IbAdapterOptions["clientLines"]>;
  /** The market-data store (STORE_PATH, absolute, STORE_RETENTION_* and STORE_RECORDING, over DEFAULT_STORE_SETTINGS). */
  store: StoreSettings;
  /**
   * The bus (BUS_URL and BUS_*, over DEFAULT_BUS_SETTINGS): set, the service is the provider role and
   * publishes every feed's events there; undefined (BUS_URL unset): the all-in-one process, no bus at all.
   */
  bus: BusSettings | undefined;
  /** The orders' safety rails (ORDERS_*); the kill switch is the order store's state, not configuration. */
  orderRails: OrderRailSettings;
}

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * Reads and validates env + config/config.provider.json. Collects every problem before failing so an
 * operator fixes them in one go; each names its file or variable, the JSON path and what was expected.
 */
export function loadConfig(options: LoadConfigOptions = {}): AppConfig {
  const rawEnv = nonEmptyEnv(options.env ?? process.env);
  const cwd = options.cwd ?? process.cwd();
  const problems: ConfigProblem[] = [];
  const warnings: string[] = [];

  const envResult = envSchema.safeParse(rawEnv);
  if (!envResult.success) {
    for (const issue of envResult.error.issues) {
      const name = String(issue.path[0] ?? "");
      const got = rawEnv[name];
      problems.push({ source: `environment variable ${name}`, path: "", message: issue.message + (got !== undefined ? ` (got ${JSON.stringify(got)})` : "") });
    }
    throw new ConfigError(problems);
  }
  const env = envResult.data;

  let gateway: GatewayAddress | undefined;
  if (env.IB_GATEWAY_URL !== undefined) {
    const parsed = parseGatewayUrl(env.IB_GATEWAY_URL);
    if (typeof parsed === "string") problems.push({ source: "environment variable IB_GATEWAY_URL", path: "", message: parsed });
    else gateway = parsed;
  }

  const samePort = samePortProblem(env, gateway === undefined && env.IB_GATEWAY_URL === undefined);
  if (samePort !== undefined) problems.push({ source: "environment variables", path: "", message: samePort });

  const tls = tlsFiles(env, cwd, problems);
  const corsOrigins = corsOriginsOf(env.REST_CORS_ORIGINS, problems);

  const { provider, providerFile } = readProviderFile(resolve(cwd, env.PROVIDER_CONFIG_FILE), resolve(cwd, DEFAULT_PROVIDER_CONFIG_FILE), rawEnv, problems, warnings);
  const apiToken = env.PROVIDER_API_TOKEN ?? (provider.apiToken === "" ? undefined : provider.apiToken);
  const clients = clientsOf(apiToken, env.PROVIDER_CLIENTS_FILE === undefined ? undefined : resolve(cwd, env.PROVIDER_CLIENTS_FILE), problems);
  if (env.PROVIDER_TRADE_TOKEN !== undefined) {
    const trader = tradeClient(env.PROVIDER_TRADE_TOKEN);
    if (clients.some((c) => c.tokenSha256.equals(trader.tokenSha256))) problems.push({ source: "environment variable PROVIDER_TRADE_TOKEN", path: "", message: "the same token as another client's (PROVIDER_API_TOKEN or the clients file): a read token must never place orders, give the trade client its own" });
    if (clients.some((c) => c.name === TRADE_CLIENT_NAME)) problems.push({ source: "environment variable PROVIDER_TRADE_TOKEN", path: "", message: `the clients file names a client ${JSON.stringify(TRADE_CLIENT_NAME)}: that name is PROVIDER_TRADE_TOKEN's` });
    clients.push(trader);
  }
  const rails = parseOrderRailSettings(rawEnv);
  if (!rails.ok) for (const e of rails.errors) problems.push({ source: `environment variable ${e.variable}`, path: "", message: e.message });

  // Without a token anyone who can reach the port could use the account's data: loopback only, and no
  // web page of another origin may read it (CORS would let any visited site call the bridge).
  if (clients.length === 0 && corsOrigins.length > 0) {
    problems.push({
      source: "environment variable REST_CORS_ORIGINS",
      path: "",
      message: "browser origins need PROVIDER_API_TOKEN: without a token any page of those origins could read the account; set a token or unset REST_CORS_ORIGINS",
    });
  }
  if (clients.length === 0) {
    for (const name of ["GRPC_HOST", "REST_HOST"] as const) {
      if (!isLoopbackHost(env[name])) {
        problems.push({
          source: `environment variable ${name}`,
          path: "",
          message: `refusing to listen on ${env[name]} without PROVIDER_API_TOKEN or PROVIDER_CLIENTS_FILE: set a token or use a loopback address (127.0.0.1)`,
        });
      }
    }
  }

  const bus = busSettingsOf(env, problems, warnings);
  // The bus is a way in as much as a port is: edges' calls reach the provider through it. Without a token,
  // only a bus on this machine (an edge beside the provider) may carry them.
  if (clients.length === 0 && bus !== undefined) {
    const remote = bus.servers.map((server) => new URL(server).hostname.replace(/^\[|\]$/g, "")).filter((host) => !isLoopbackHost(host));
    if (remote.length > 0) {
      problems.push({
        source: "environment variable BUS_URL",
        path: "",
        message: `refusing a bus beyond this machine (${remote.join(", ")}) without PROVIDER_API_TOKEN or PROVIDER_CLIENTS_FILE: anyone on the bus could call the service; set a token or use a loopback bus (nats://127.0.0.1:4222)`,
      });
    }
  }

  if (problems.length > 0) throw new ConfigError(problems);
  const streams: StreamSettings = { ...DEFAULT_STREAM_SETTINGS, maxQueued: env.STREAM_BUFFER_EVENTS, heartbeatMs: env.STREAM_HEARTBEAT_MS };
  const defaults = DEFAULT_STORE_SETTINGS.retention;
  const retention = {
    tick: env.STORE_RETENTION_TICKS ?? defaults.tick,
    trade: env.STORE_RETENTION_TRADES ?? defaults.trade,
    orderBook: env.STORE_RETENTION_DEPTH ?? defaults.orderBook,
    candle: env.STORE_RETENTION_CANDLES ?? defaults.candle,
    account: env.STORE_RETENTION_ACCOUNT ?? defaults.account,
    orders: env.STORE_RETENTION_ORDERS ?? defaults.orders,
  };
  const recording = env.STORE_RECORDING ?? DEFAULT_STORE_SETTINGS.recording;
  const store: StoreSettings = { ...DEFAULT_STORE_SETTINGS, path: env.STORE_PATH === IN_MEMORY ? IN_MEMORY : resolve(cwd, env.STORE_PATH), retention, recording };
  const sharers = clients.length === 0 ? [{ name: ANONYMOUS_CLIENT_NAME, quotas: DEFAULT_CLIENT_QUOTAS }] : clients;
  const ibLines = { clients: sharers.map((c) => ({ name: c.name, maxLines: c.quotas.ibLines })), reservePercent: env.IB_LINES_RESERVE_PERCENT };
  const historicalPacing = env.HISTORY_CLIENT_RESERVE === undefined ? undefined : { clientReserve: env.HISTORY_CLIENT_RESERVE };
  const orderRails = rails.ok ? rails.settings : DEFAULT_ORDER_RAIL_SETTINGS;
  return { env, gateway, apiToken, clients, provider, providerFile, warnings, tls, corsOrigins, streams, store, ibLines, historicalPacing, bus, orderRails };
}

/** BUS_URL and the BUS_* settings over DEFAULT_BUS_SETTINGS; undefined without BUS_URL (the other BUS_* are then ignored, with a warning). */
function busSettingsOf(env: EnvConfig, problems: ConfigProblem[], warnings: string[]): BusSettings | undefined {
  if (env.BUS_URL === undefined) {
    const ignored = (Object.keys(env) as (keyof EnvConfig)[]).filter((name) => name.startsWith("BUS_") && env[name] !== undefined);
    if (ignored.length > 0) warnings.push(`${ignored.join(", ")} ${ignored.length === 1 ? "is" : "are"} set but BUS_URL is not: no bus is used (the all-in-one process)`);
    return undefined;
  }
  const servers = parseBusUrl(env.BUS_URL);
  if (typeof servers === "string") {
    problems.push({ source: "environment variable BUS_URL", path: "", message: servers });
    return undefined;
  }
  // The provider publishes what its feeds record: the recorder batches and encodes each event once for both.
  if (env.STORE_RECORDING === false) {
    problems.push({ source: "environment variables BUS_URL/STORE_RECORDING", path: "", message: "the provider role (BUS_URL) publishes the events its feeds record: STORE_RECORDING=off cannot be combined with it" });
  }
  const d = DEFAULT_BUS_SETTINGS;
  const replicas = env.BUS_REPLICAS ?? d.replicas;
  const leaderTtlMs = env.BUS_LEADER_TTL_MS ?? d.leaderTtlMs;
  if (replicas > 1 && leaderTtlMs < CLUSTER_LEADER_TTL_MS) {
    warnings.push(`BUS_REPLICAS ${replicas} with BUS_LEADER_TTL_MS ${leaderTtlMs}: after a JetStream node's loss the cluster takes 4-9 s to elect new leaders, and a leader lease shorter than ${CLUSTER_LEADER_TTL_MS} ms may lapse meanwhile (the provider then stops); set BUS_LEADER_TTL_MS=${CLUSTER_LEADER_TTL_MS} or more`);
  }
  return {
    ...d,
    servers,
    url: redactBusUrl(env.BUS_URL),
    subjectPrefix: env.BUS_SUBJECT_PREFIX ?? d.subjectPrefix,
    retention: {
      tick: env.BUS_RETENTION_TICKS ?? d.retention.tick,
      trade: env.BUS_RETENTION_TRADES ?? d.retention.trade,
      orderBook: env.BUS_RETENTION_DEPTH ?? d.retention.orderBook,
      candle: env.BUS_RETENTION_CANDLES ?? d.retention.candle,
      account: env.BUS_RETENTION_ACCOUNT ?? d.retention.account,
    },
    streamMaxBytes: env.BUS_STREAM_MAX_BYTES ?? d.streamMaxBytes,
    maxQueued: env.BUS_QUEUE_EVENTS ?? d.maxQueued,
    flushEveryMs: env.BUS_FLUSH_MS ?? d.flushEveryMs,
    leaderTtlMs,
    replicas,
  };
}

/** The clients file's clients and the API token's `default` (both may be set: the names must then differ). */
function clientsOf(apiToken: string | undefined, clientsFile: string | undefined, problems: ConfigProblem[]): ClientConfig[] {
  const clients = clientsFile === undefined ? [] : readClientsFile(clientsFile, problems);
  // Reserved whether or not a token is set: "anonymous" also names unauthenticated calls (health, reflection);
  // "service" holds the configured subscriptions' IB lines, with no cap and no fair share.
  for (const client of clients) {
    if (client.name === DEFAULT_CLIENT_NAME || client.name === ANONYMOUS_CLIENT_NAME || client.name === SERVICE_CLIENT_NAME) {
      problems.push({
        source: clientsFile!,
        path: "",
        message: `client name ${JSON.stringify(client.name)} is reserved (PROVIDER_API_TOKEN's client is "${DEFAULT_CLIENT_NAME}"; "${ANONYMOUS_CLIENT_NAME}" is every caller without a token; "${SERVICE_CLIENT_NAME}" holds the configured subscriptions' IB lines)`,
      });
    }
  }
  if (apiToken === undefined) return clients;
  const token = defaultClient(apiToken);
  for (const client of clients) {
    if (client.tokenSha256.equals(token.tokenSha256)) {
      problems.push({ source: clientsFile!, path: "", message: `client ${JSON.stringify(client.name)} has PROVIDER_API_TOKEN's token: give each client its own token` });
    }
  }
  return [...clients, token];
}

/**
 * PROVIDER_TLS_CERT/PROVIDER_TLS_KEY (or their older names TLS_CERT_FILE/TLS_KEY_FILE): both or neither,
 * and the files must exist. Both names set to different files is a mistake worth stopping for.
 */
function tlsFiles(env: EnvConfig, cwd: string, problems: ConfigProblem[]): AppConfig["tls"] {
  const pick = (name: "PROVIDER_TLS_CERT" | "PROVIDER_TLS_KEY", alias: "TLS_CERT_FILE" | "TLS_KEY_FILE") => {
    const value = env[name];
    const old = env[alias];
    if (value !== undefined && old !== undefined && resolve(cwd, value) !== resolve(cwd, old)) {
      problems.push({ source: `environment variables ${name}/${alias}`, path: "", message: `both set to different files: keep ${name} only` });
    }
    const chosen = value ?? old;
    return chosen === undefined ? undefined : { name: value !== undefined ? name : alias, file: resolve(cwd, chosen) };
  };
  const cert = pick("PROVIDER_TLS_CERT", "TLS_CERT_FILE");
  const key = pick("PROVIDER_TLS_KEY", "TLS_KEY_FILE");
  if ((cert === undefined) !== (key === undefined)) {
    problems.push({ source: "environment variables PROVIDER_TLS_CERT/PROVIDER_TLS_KEY", path: "", message: "set both or neither" });
  }
  for (const f of [cert, key]) {
    if (f !== undefined && !existsSync(f.file)) problems.push({ source: `environment variable ${f.name}`, path: "", message: `file not found: ${f.file}` });
  }
  return cert !== undefined && key !== undefined ? { certFile: cert.file, keyFile: key.file } : undefined;
}

/** "https://a.example, http://localhost:3000" or "*". An origin is scheme://host[:port], no path. */
function corsOriginsOf(value: string | undefined, problems: ConfigProblem[]): string[] {
  if (value === undefined) return [];
  const origins = value.split(",").map((o) => o.trim()).filter((o) => o !== "");
  for (const origin of origins) {
    if (origin !== "*" && !/^https?:\/\/[^/\s]+$/.test(origin)) {
      problems.push({ source: "environment variable REST_CORS_ORIGINS", path: "", message: `expected "*" or origins like https://studio.example.com, comma-separated (got ${JSON.stringify(origin)})` });
    }
  }
  return origins;
}

/**
 * A file the operator named must exist: a typo in PROVIDER_CONFIG_FILE would otherwise start a service
 * with no symbols and no subscriptions that still answers candles, and nothing would say why. Only the
 * default file may be absent (a first `npm start` from another directory): a warning says so.
 */
function readProviderFile(
  file: string,
  defaultFile: string,
  env: Record<string, string>,
  problems: ConfigProblem[],
  warnings: string[],
): { provider: ProviderConfig; providerFile: string | undefined } {
  const empty: ProviderConfig = { apiToken: undefined, ib: undefined, ignoredConnectors: [] };
  if (!existsSync(file)) {
    if (file === defaultFile) {
      warnings.push(`no provider config at ${file} (PROVIDER_CONFIG_FILE's default): serving no configured symbols or subscriptions`);
    } else {
      problems.push({ source: "environment variable PROVIDER_CONFIG_FILE", path: "", message: `file not found: ${file}` });
    }
    return { provider: empty, providerFile: undefined };
  }
  const read = readJsonFile(file, problems);
  if (read === undefined) return { provider: empty, providerFile: file };
  const { json } = read;
  const wrapped = json !== null && typeof json === "object" && !Array.isArray(json) && "provider" in json;
  const prefix: PropertyKey[] = wrapped ? ["provider"] : [];
  const rawProvider = substituteEnv(wrapped ? (json as { provider: unknown }).provider : json, env, (name, path) =>
    problems.push({ source: file, path: formatJsonPath([...prefix, ...path]), message: `environment variable ${name} is not set` }),
  );

  const parsed = providerSchema.safeParse(rawProvider);
  if (!parsed.success) {
    problems.push(...problemsFromZod(file, rawProvider, parsed.error.issues, prefix));
    return { provider: empty, providerFile: file };
  }
  const provider: ProviderConfig = { apiToken: parsed.data.apiToken, ib: undefined, ignoredConnectors: [] };
  const ibIndexes: number[] = [];
  parsed.data.connectors.forEach((connector, i) => {
    if (connector.connectorType !== "ib") {
      provider.ignoredConnectors.push(connector.connectorType);
      return;
    }
    ibIndexes.push(i);
    const rawConnector = (rawProvider as { connectors: unknown[] }).connectors[i];
    const ib = ibConnectorSchema.safeParse(rawConnector);
    if (!ib.success) problems.push(...problemsFromZod(file, rawConnector, ib.error.issues, [...prefix, "connectors", i]));
    else if (ib.data.enabled) provider.ib ??= ib.data;
  });
  if (ibIndexes.length > 1) {
    problems.push({
      source: file,
      path: formatJsonPath([...prefix, "connectors", ibIndexes[1]!]),
      message: `more than one "ib" connector (also at connectors[${ibIndexes[0]}]): merge their markets and subscriptions`,
    });
  }
  return { provider, providerFile: file };
}
