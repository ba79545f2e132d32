import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { ConfigError, formatJsonPath, problemsFromZod, type ConfigProblem } from "./configError.js";
import { envSchema, nonEmptyEnv, type EnvConfig } from "./envConfig.js";
import { isLoopbackHost, parseGatewayUrl, type GatewayAddress } from "./gatewayUrl.js";
import { ibConnectorSchema, providerSchema, type ProviderConfig } from "./providerConfig.js";
import { substituteEnv } from "./substituteEnv.js";

/** Everything the service needs to start, validated. */
export interface AppConfig {
  env: EnvConfig;
  /** Real Gateway address, or undefined: then the embedded simulator runs (never as a silent fallback). */
  gateway: GatewayAddress | undefined;
  /** The API token, from PROVIDER_API_TOKEN or the provider file's apiToken; undefined = auth disabled. */
  apiToken: string | undefined;
  provider: ProviderConfig;
  /** Absolute path of the provider file that was read (undefined when it does not exist). */
  providerFile: string | undefined;
  tls: { certFile: string; keyFile: string } | undefined;
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

  const tls =
    env.TLS_CERT_FILE !== undefined && env.TLS_KEY_FILE !== undefined
      ? { certFile: resolve(cwd, env.TLS_CERT_FILE), keyFile: resolve(cwd, env.TLS_KEY_FILE) }
      : undefined;
  if ((env.TLS_CERT_FILE === undefined) !== (env.TLS_KEY_FILE === undefined)) {
    problems.push({ source: "environment variables TLS_CERT_FILE/TLS_KEY_FILE", path: "", message: "set both or neither" });
  }
  for (const [name, file] of [["TLS_CERT_FILE", tls?.certFile], ["TLS_KEY_FILE", tls?.keyFile]] as const) {
    if (file !== undefined && !existsSync(file)) problems.push({ source: `environment variable ${name}`, path: "", message: `file not found: ${file}` });
  }

  const { provider, providerFile } = readProviderFile(resolve(cwd, env.PROVIDER_CONFIG_FILE), rawEnv, problems);
  const apiToken = env.PROVIDER_API_TOKEN ?? (provider.apiToken === "" ? undefined : provider.apiToken);

  // Without a token anyone who can reach the port could use the account's data: loopback only.
  if (apiToken === undefined) {
    for (const name of ["GRPC_HOST", "REST_HOST"] as const) {
      if (!isLoopbackHost(env[name])) {
        problems.push({
          source: `environment variable ${name}`,
          path: "",
          message: `refusing to listen on ${env[name]} without PROVIDER_API_TOKEN: set a token or use a loopback address (127.0.0.1)`,
        });
      }
    }
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return { env, gateway, apiToken, provider, providerFile, tls };
}

function readProviderFile(
  file: string,
  env: Record<string, string>,
  problems: ConfigProblem[],
): { provider: ProviderConfig; providerFile: string | undefined } {
  const empty: ProviderConfig = { apiToken: undefined, ib: undefined, ignoredConnectors: [] };
  if (!existsSync(file)) return { provider: empty, providerFile: undefined };
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    problems.push({ source: file, path: "", message: `not valid JSON: ${(err as Error).message}` });
    return { provider: empty, providerFile: file };
  }
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
