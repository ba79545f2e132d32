import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_BUS_SETTINGS } from "../bus/busSettings.js";
import { configErrorOf, dirWithFile } from "../testing/configFiles.js";
import { loadConfig } from "./loadConfig.js";

const dir = dirWithFile("config.provider.json", {});
const load = (env: Record<string, string>) => loadConfig({ env: { PROVIDER_CONFIG_FILE: join(dir, "config.provider.json"), ...env }, cwd: dir });

describe("the bus settings (BUS_URL: the provider role)", () => {
  it("without BUS_URL there is no bus, and other BUS_* variables are named in a warning as ignored", () => {
    expect(load({}).bus).toBeUndefined();
    const config = load({ BUS_SUBJECT_PREFIX: "x", BUS_QUEUE_EVENTS: "5000" });
    expect(config.bus).toBeUndefined();
    expect(config.warnings.join("\n")).toContain("BUS_SUBJECT_PREFIX, BUS_QUEUE_EVENTS are set but BUS_URL is not");
  });

  it("reads BUS_URL (one server or a cluster's) and the BUS_* settings over the defaults", () => {
    expect(load({ BUS_URL: "nats://127.0.0.1:4222" }).bus).toEqual({ ...DEFAULT_BUS_SETTINGS, servers: ["nats://127.0.0.1:4222"], url: "nats://127.0.0.1:4222" });
    const bus = load({
      BUS_URL: "nats://a:4222, nats://b:4223,tls://c",
      PROVIDER_API_TOKEN: "t",
      BUS_SUBJECT_PREFIX: "ib-paper",
      BUS_RETENTION_TICKS: "90m",
      BUS_RETENTION_DEPTH: "0",
      BUS_STREAM_MAX_BYTES: "0",
      BUS_QUEUE_EVENTS: "20000",
      BUS_FLUSH_MS: "2",
      BUS_LEADER_TTL_MS: "2000",
    }).bus!;
    expect(bus.servers).toEqual(["nats://a:4222", "nats://b:4223", "tls://c"]);
    expect(bus.subjectPrefix).toBe("ib-paper");
    expect(bus.retention).toEqual({ ...DEFAULT_BUS_SETTINGS.retention, tick: 90 * 60_000, orderBook: 0 });
    expect(bus.streamMaxBytes).toBe(0);
    expect(bus.maxQueued).toBe(20_000);
    expect(bus.flushEveryMs).toBe(2);
    expect(load({ BUS_URL: "nats://127.0.0.1:4222" }).bus!.flushEveryMs).toBe(5);
    for (const bad of ["0", "1001", "2.5", "soon"]) expect(() => load({ BUS_URL: "nats://127.0.0.1:4222", BUS_FLUSH_MS: bad })).toThrow(/BUS_FLUSH_MS/);
    expect(bus.leaderTtlMs).toBe(2_000);
    expect(load({ BUS_URL: "nats://127.0.0.1:4222" }).bus!.leaderTtlMs).toBe(5_000);
    for (const bad of ["999", "300001", "1.5", "5s"]) expect(() => load({ BUS_URL: "nats://127.0.0.1:4222", BUS_LEADER_TTL_MS: bad })).toThrow(/BUS_LEADER_TTL_MS/);
  });

  it("reads BUS_REPLICAS (1 by default, 1-5): the copies of every stream and of the leader lease", () => {
    const bus = (replicas?: string) => load({ BUS_URL: "nats://127.0.0.1:4222", ...(replicas === undefined ? {} : { BUS_REPLICAS: replicas }) }).bus!;
    expect(bus().replicas).toBe(1);
    expect(bus("3").replicas).toBe(3);
    expect(bus("5").replicas).toBe(5);
    for (const bad of ["0", "6", "2.5", "three"]) {
      const message = configErrorOf(() => bus(bad)).message;
      expect(message).toContain("environment variable BUS_REPLICAS");
    }
    expect(load({ BUS_REPLICAS: "3" }).warnings.join("\n")).toContain("BUS_REPLICAS is set but BUS_URL is not");
  });

  it("warns when replicated streams come with a leader lease shorter than a JetStream cluster's elections after a node's loss", () => {
    const warnings = (env: Record<string, string>) => load({ BUS_URL: "nats://127.0.0.1:4222", ...env }).warnings.join("\n");
    expect(warnings({ BUS_REPLICAS: "3" })).toContain("BUS_REPLICAS 3 with BUS_LEADER_TTL_MS 5000: after a JetStream node's loss");
    expect(warnings({ BUS_REPLICAS: "3", BUS_LEADER_TTL_MS: "15000" })).not.toContain("BUS_REPLICAS");
    expect(warnings({ BUS_LEADER_TTL_MS: "2000" })).not.toContain("BUS_REPLICAS");
  });

  it("names BUS_URL and what it expects for a URL that is not a NATS server's, and masks a password in it", () => {
    for (const [bad, expected] of [
      ["127.0.0.1:4222", "expected nats://host:port"],
      ["http://127.0.0.1:4222", 'unsupported scheme "http"'],
      ["nats://127.0.0.1:4222/x", "unexpected path or query"],
    ] as const) {
      const message = configErrorOf(() => load({ BUS_URL: bad })).message;
      expect(message).toContain("environment variable BUS_URL");
      expect(message).toContain(expected);
    }
    const message = configErrorOf(() => load({ BUS_URL: "nats://me:secret@127.0.0.1:4222/x" })).message;
    expect(message).not.toContain("secret");
    expect(message).toContain("nats://me:***@127.0.0.1:4222/x");
    expect(load({ BUS_URL: "nats://me:secret@127.0.0.1:4222" }).bus!.url).toBe("nats://me:***@127.0.0.1:4222");
  });

  it("refuses a subject prefix that is not one subject token, and the provider role without recording", () => {
    expect(configErrorOf(() => load({ BUS_URL: "nats://127.0.0.1:4222", BUS_SUBJECT_PREFIX: "ib.p" })).message).toContain("environment variable BUS_SUBJECT_PREFIX");
    const message = configErrorOf(() => load({ BUS_URL: "nats://127.0.0.1:4222", STORE_RECORDING: "off" })).message;
    expect(message).toContain("BUS_URL/STORE_RECORDING");
  });
});
