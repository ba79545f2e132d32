import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "./loadConfig.js";
import { configErrorOf, dirWithFile } from "../testing/configFiles.js";

const withFile = (content: unknown) => dirWithFile("config.provider.json", content);
const errorOf = configErrorOf;

const seed = {
  provider: {
    connectors: [
      {
        connectorType: "ib",
        enabled: true,
        markets: [{ marketType: "spot", symbols: [{ name: "BTCUSDT" }] }],
        subscriptions: [
          { type: "PROVIDER_MARKETDATA_CANDLE", symbols: ["BTCUSDT"], intervals: ["min1", "h1"], active: true },
          { type: "PROVIDER_MARKETDATA_TRADE", symbols: ["BTCUSDT"], active: true },
          { type: "PROVIDER_MARKETDATA_ORDERBOOK", symbols: ["BTCUSDT"], active: true },
        ],
      },
    ],
  },
};

const envFor = (dir: string, extra: Record<string, string> = {}) => ({ PROVIDER_CONFIG_FILE: join(dir, "config.provider.json"), ...extra });

describe("configuration", () => {
  it("freezes the embedded simulator's closed markets unless SIMULATOR_CLOSED_MARKETS=live, and names a bad value", () => {
    const dir = withFile({});
    expect(loadConfig({ env: envFor(dir), cwd: dir }).env.SIMULATOR_CLOSED_MARKETS).toBe("frozen");
    expect(loadConfig({ env: envFor(dir, { SIMULATOR_CLOSED_MARKETS: "live" }), cwd: dir }).env.SIMULATOR_CLOSED_MARKETS).toBe("live");
    expect(() => loadConfig({ env: envFor(dir, { SIMULATOR_CLOSED_MARKETS: "open" }), cwd: dir })).toThrow(/SIMULATOR_CLOSED_MARKETS/);
  });

  it("accepts the seed's config.provider.json exactly as published", () => {
    const dir = withFile(seed);
    const config = loadConfig({ env: envFor(dir), cwd: dir });
    expect(config.provider.ib?.markets[0]?.symbols[0]?.name).toBe("BTCUSDT");
    expect(config.provider.ib?.subscriptions).toHaveLength(3);
    expect(config.gateway).toBeUndefined();
    expect(config.env.GRPC_PORT).toBe(50051);
  });

  it("accepts the same object without the outer provider key", () => {
    const dir = withFile(seed.provider);
    expect(loadConfig({ env: envFor(dir), cwd: dir }).provider.ib?.connectorType).toBe("ib");
  });

  it("names the file, the JSON path and the expected values for a bad market type", () => {
    const bad = structuredClone(seed);
    (bad.provider.connectors[0]!.markets[0] as { marketType: string }).marketType = "stocks";
    const dir = withFile(bad);
    const err = errorOf(() => loadConfig({ env: envFor(dir), cwd: dir }));
    expect(err.message).toContain("config.provider.json");
    expect(err.message).toContain("provider.connectors[0].markets[0].marketType");
    expect(err.message).toMatch(/spot.*futures.*margin/);
    expect(err.message).toContain('"stocks"');
  });

  it("takes symbols of every class in the symbol syntax of their market, and names one that is not", () => {
    const good = structuredClone(seed);
    const symbols = ["BTCUSDT", "AAPL270115C00200000", "IND:DAX", "SPX", "COMBO:AAPL270115C00200000,-2*AAPL270115C00210000", "91282CLW9"];
    good.provider.connectors[0]!.markets[0]!.symbols = symbols.map((name) => ({ name }));
    const dir = withFile(good);
    expect(loadConfig({ env: envFor(dir), cwd: dir }).provider.ib!.markets[0]!.symbols.map((s) => s.name)).toEqual(symbols);
    const bad = structuredClone(seed);
    bad.provider.connectors[0]!.markets[0]!.symbols = [{ name: "BTCUSDT" }, { name: "AAPL271315C00200000" }];
    const badDir = withFile(bad);
    const err = errorOf(() => loadConfig({ env: envFor(badDir), cwd: badDir }));
    expect(err.message).toContain("provider.connectors[0].markets[0].symbols[1].name");
    expect(err.message).toContain("not a date");
  });

  it("rejects an unknown interval instead of defaulting to min1", () => {
    const bad = structuredClone(seed);
    bad.provider.connectors[0]!.subscriptions[0]!.intervals = ["min1", "h3"];
    const dir = withFile(bad);
    const err = errorOf(() => loadConfig({ env: envFor(dir), cwd: dir }));
    expect(err.message).toContain("provider.connectors[0].subscriptions[0].intervals[1]");
    expect(err.message).toContain("unknown interval");
    expect(err.message).toContain('"h3"');
  });

  it("reports a misspelled key inside the ib connector", () => {
    const bad = structuredClone(seed) as unknown as { provider: { connectors: Record<string, unknown>[] } };
    const subs = bad.provider.connectors[0]!.subscriptions as Record<string, unknown>[];
    subs[1] = { type: "PROVIDER_MARKETDATA_TRADE", symbols: ["BTCUSDT"], activ: true };
    const dir = withFile(bad);
    const err = errorOf(() => loadConfig({ env: envFor(dir), cwd: dir }));
    expect(err.message).toContain("provider.connectors[0].subscriptions[1]");
    expect(err.message).toContain("activ");
  });

  it("reports a subscription for a symbol no market lists", () => {
    const bad = structuredClone(seed);
    bad.provider.connectors[0]!.subscriptions[1]!.symbols = ["ETHUSDT"];
    const dir = withFile(bad);
    const err = errorOf(() => loadConfig({ env: envFor(dir), cwd: dir }));
    expect(err.message).toContain("provider.connectors[0].subscriptions[1].symbols[0]");
    expect(err.message).toContain("ETHUSDT");
  });

  it("reports invalid JSON with the file name", () => {
    const dir = withFile("{ not json");
    const err = errorOf(() => loadConfig({ env: envFor(dir), cwd: dir }));
    expect(err.message).toMatch(/config\.provider\.json.*not valid JSON/);
  });

  it("fills ${VAR} placeholders and names a missing variable", () => {
    const withToken = { provider: { apiToken: "${MY_TOKEN}", ...seed.provider } };
    const dir = withFile(withToken);
    expect(loadConfig({ env: envFor(dir, { MY_TOKEN: "s3cret" }), cwd: dir }).apiToken).toBe("s3cret");
    const err = errorOf(() => loadConfig({ env: envFor(dir), cwd: dir }));
    expect(err.message).toContain("provider.apiToken");
    expect(err.message).toContain("MY_TOKEN is not set");
  });

  it("names a bad environment variable and its value", () => {
    const dir = withFile(seed);
    const err = errorOf(() => loadConfig({ env: envFor(dir, { GRPC_PORT: "fifty", IB_CLIENT_ID: "-1" }), cwd: dir }));
    expect(err.message).toContain("GRPC_PORT");
    expect(err.message).toContain('"fifty"');
    expect(err.message).toContain("IB_CLIENT_ID");
  });

  it("parses IB_GATEWAY_URL in the Barfinex and plain forms, and rejects one without a port", () => {
    const dir = withFile(seed);
    expect(loadConfig({ env: envFor(dir, { IB_GATEWAY_URL: "http://localhost:4001" }), cwd: dir }).gateway).toEqual({ host: "localhost", port: 4001 });
    expect(loadConfig({ env: envFor(dir, { IB_GATEWAY_URL: "127.0.0.1:4002" }), cwd: dir }).gateway).toEqual({ host: "127.0.0.1", port: 4002 });
    expect(loadConfig({ env: envFor(dir, { IB_GATEWAY_URL: "tcp://gw:7497" }), cwd: dir }).gateway).toEqual({ host: "gw", port: 7497 });
    const err = errorOf(() => loadConfig({ env: envFor(dir, { IB_GATEWAY_URL: "http://localhost" }), cwd: dir }));
    expect(err.message).toMatch(/IB_GATEWAY_URL.*missing port/);
  });

  it("refuses to listen beyond loopback without a token", () => {
    const dir = withFile(seed);
    const err = errorOf(() => loadConfig({ env: envFor(dir, { GRPC_HOST: "0.0.0.0" }), cwd: dir }));
    expect(err.message).toMatch(/GRPC_HOST.*refusing to listen on 0\.0\.0\.0 without PROVIDER_API_TOKEN/);
    expect(loadConfig({ env: envFor(dir, { GRPC_HOST: "0.0.0.0", PROVIDER_API_TOKEN: "t" }), cwd: dir }).env.GRPC_HOST).toBe("0.0.0.0");
  });

  it("stops when PROVIDER_CONFIG_FILE names a file that does not exist, naming it", () => {
    const dir = withFile(seed);
    const err = errorOf(() => loadConfig({ env: { PROVIDER_CONFIG_FILE: "config.provdier.json" }, cwd: dir }));
    expect(err.message).toContain(`environment variable PROVIDER_CONFIG_FILE: file not found: ${join(dir, "config.provdier.json")}`);
  });

  it("starts without the default config/config.provider.json, with a warning naming it", () => {
    const dir = mkdtempSync(join(tmpdir(), "ibp-config-"));
    for (const env of [{}, { PROVIDER_CONFIG_FILE: "config/config.provider.json" }]) {
      const config = loadConfig({ env, cwd: dir });
      expect(config.providerFile).toBeUndefined();
      expect(config.warnings).toEqual([expect.stringContaining(`no provider config at ${join(dir, "config", "config.provider.json")}`)]);
    }
    expect(loadConfig({ env: envFor(withFile(seed)), cwd: dir }).warnings).toEqual([]);
  });

  it("refuses two listeners on one port (0 = any free port, for each)", () => {
    const dir = withFile(seed);
    expect(errorOf(() => loadConfig({ env: envFor(dir, { GRPC_PORT: "9000", REST_PORT: "9000" }), cwd: dir })).message).toContain("GRPC_PORT and REST_PORT are both 9000");
    expect(errorOf(() => loadConfig({ env: envFor(dir, { SIMULATOR_PORT: "50051" }), cwd: dir })).message).toContain("SIMULATOR_PORT and GRPC_PORT are both 50051");
    expect(loadConfig({ env: envFor(dir, { SIMULATOR_PORT: "50051", IB_GATEWAY_URL: "127.0.0.1:4002" }), cwd: dir }).env.SIMULATOR_PORT).toBe(50051);
    expect(loadConfig({ env: envFor(dir, { GRPC_PORT: "0", REST_PORT: "0" }), cwd: dir }).env.GRPC_PORT).toBe(0);
  });

  it("treats an empty variable as unset, as a .env line like IB_GATEWAY_URL= reads", () => {
    const dir = withFile(seed);
    expect(loadConfig({ env: envFor(dir, { IB_GATEWAY_URL: "", PROVIDER_API_TOKEN: " " }), cwd: dir })).toMatchObject({ gateway: undefined, apiToken: undefined });
  });
});

describe("REST bridge settings", () => {
  const pem = (dir: string, name: string) => {
    writeFileSync(join(dir, name), "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n");
    return join(dir, name);
  };

  it("takes PROVIDER_TLS_CERT/PROVIDER_TLS_KEY for both servers", () => {
    const dir = withFile(seed);
    const config = loadConfig({ env: envFor(dir, { PROVIDER_TLS_CERT: pem(dir, "c.pem"), PROVIDER_TLS_KEY: pem(dir, "k.pem") }), cwd: dir });
    expect(config.tls).toEqual({ certFile: join(dir, "c.pem"), keyFile: join(dir, "k.pem") });
  });

  it("still accepts the older TLS_CERT_FILE/TLS_KEY_FILE names", () => {
    const dir = withFile(seed);
    const config = loadConfig({ env: envFor(dir, { TLS_CERT_FILE: pem(dir, "c.pem"), TLS_KEY_FILE: pem(dir, "k.pem") }), cwd: dir });
    expect(config.tls?.certFile).toBe(join(dir, "c.pem"));
  });

  it("refuses a certificate without a key, a missing file, and two names pointing at different files", () => {
    const dir = withFile(seed);
    expect(errorOf(() => loadConfig({ env: envFor(dir, { PROVIDER_TLS_CERT: pem(dir, "c.pem") }), cwd: dir })).message).toContain("set both or neither");
    expect(errorOf(() => loadConfig({ env: envFor(dir, { PROVIDER_TLS_CERT: "nope.pem", PROVIDER_TLS_KEY: pem(dir, "k.pem") }), cwd: dir })).message).toContain("PROVIDER_TLS_CERT: file not found");
    const both = errorOf(() =>
      loadConfig({ env: envFor(dir, { PROVIDER_TLS_CERT: pem(dir, "c.pem"), TLS_CERT_FILE: pem(dir, "other.pem"), PROVIDER_TLS_KEY: pem(dir, "k.pem") }), cwd: dir }),
    );
    expect(both.message).toContain("keep PROVIDER_TLS_CERT only");
  });

  it("reads REST_CORS_ORIGINS as a comma-separated list of origins or *", () => {
    const dir = withFile(seed);
    const token = { PROVIDER_API_TOKEN: "t" };
    expect(loadConfig({ env: envFor(dir), cwd: dir }).corsOrigins).toEqual([]);
    expect(loadConfig({ env: envFor(dir, { ...token, REST_CORS_ORIGINS: "https://studio.example, http://localhost:3000" }), cwd: dir }).corsOrigins).toEqual([
      "https://studio.example",
      "http://localhost:3000",
    ]);
    expect(loadConfig({ env: envFor(dir, { ...token, REST_CORS_ORIGINS: "*" }), cwd: dir }).corsOrigins).toEqual(["*"]);
    expect(errorOf(() => loadConfig({ env: envFor(dir, { ...token, REST_CORS_ORIGINS: "studio.example/path" }), cwd: dir })).message).toContain("REST_CORS_ORIGINS");
  });

  it("refuses browser origins without a token: any page of those origins could read the account", () => {
    const dir = withFile(seed);
    expect(errorOf(() => loadConfig({ env: envFor(dir, { REST_CORS_ORIGINS: "*" }), cwd: dir })).message).toContain("browser origins need PROVIDER_API_TOKEN");
  });

  it("refuses a non-loopback REST_HOST without a token, like GRPC_HOST", () => {
    const dir = withFile(seed);
    expect(errorOf(() => loadConfig({ env: envFor(dir, { REST_HOST: "0.0.0.0" }), cwd: dir })).message).toContain("refusing to listen on 0.0.0.0 without PROVIDER_API_TOKEN");
    expect(loadConfig({ env: envFor(dir, { REST_HOST: "0.0.0.0", PROVIDER_API_TOKEN: "t" }), cwd: dir }).env.REST_HOST).toBe("0.0.0.0");
  });

  it("refuses a bus beyond this machine without a token (edges' calls come through it), accepts a loopback one", () => {
    const dir = withFile(seed);
    expect(errorOf(() => loadConfig({ env: envFor(dir, { BUS_URL: "nats://127.0.0.1:4222,nats://nats.example.com:4222" }), cwd: dir })).message).toMatch(
      /BUS_URL.*refusing a bus beyond this machine \(nats\.example\.com\) without PROVIDER_API_TOKEN/,
    );
    expect(loadConfig({ env: envFor(dir, { BUS_URL: "nats://localhost:4222" }), cwd: dir }).bus?.servers).toEqual(["nats://localhost:4222"]);
    expect(loadConfig({ env: envFor(dir, { BUS_URL: "nats://[::1]:4222" }), cwd: dir }).bus?.servers).toEqual(["nats://[::1]:4222"]);
    expect(loadConfig({ env: envFor(dir, { BUS_URL: "nats://nats.example.com:4222", PROVIDER_API_TOKEN: "t" }), cwd: dir }).bus?.servers).toEqual(["nats://nats.example.com:4222"]);
  });

  it("reads the recorded events' retention per kind as durations (24h, 90m, 7d, 0 = forever) over the defaults, naming a bad one", () => {
    const dir = withFile(seed);
    expect(loadConfig({ env: envFor(dir), cwd: dir }).store.retention).toEqual({ tick: 24 * 3_600_000, trade: 24 * 3_600_000, orderBook: 3_600_000, candle: 0, account: 7 * 86_400_000, orders: 30 * 86_400_000 });
    const env = { STORE_RETENTION_TICKS: "90m", STORE_RETENTION_TRADES: "2d", STORE_RETENTION_DEPTH: "30s", STORE_RETENTION_CANDLES: "1w", STORE_RETENTION_ACCOUNT: "0", STORE_RETENTION_ORDERS: "90d" };
    expect(loadConfig({ env: envFor(dir, env), cwd: dir }).store.retention).toEqual({ tick: 90 * 60_000, trade: 2 * 86_400_000, orderBook: 30_000, candle: 7 * 86_400_000, account: 0, orders: 90 * 86_400_000 });
    for (const bad of ["24", "1.5h", "-1h", "forever"]) {
      const message = errorOf(() => loadConfig({ env: envFor(dir, { STORE_RETENTION_TICKS: bad }), cwd: dir })).message;
      expect(message).toContain("environment variable STORE_RETENTION_TICKS");
      expect(message).toContain('e.g. "24h", "90m", "7d", or "0" for forever');
      expect(message).toContain(JSON.stringify(bad));
    }
  });

  it("records by default; STORE_RECORDING=off turns recording off, and another value is refused naming the variable", () => {
    const dir = withFile(seed);
    expect(loadConfig({ env: envFor(dir), cwd: dir }).store.recording).toBe(true);
    expect(loadConfig({ env: envFor(dir, { STORE_RECORDING: "off" }), cwd: dir }).store.recording).toBe(false);
    expect(loadConfig({ env: envFor(dir, { STORE_RECORDING: "on" }), cwd: dir }).store.recording).toBe(true);
    const message = errorOf(() => loadConfig({ env: envFor(dir, { STORE_RECORDING: "never" }), cwd: dir })).message;
    expect(message).toContain("environment variable STORE_RECORDING");
    expect(message).toContain('"never"');
  });
});
