import { createHash } from "node:crypto";
import { credentials, Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MarketDataServiceClient } from "../../gen/ibprovider/v1/market_data_service.js";
import { startTestApp, type TestApp } from "../testing/testApp.js";
import { until } from "../testing/until.js";
import { captureLog } from "../testing/logCapture.js";
import { firstOutcome } from "../testing/firstOutcome.js";
import type { AccessEntry } from "./accessLog.js";
import { readRichStatus } from "./statusDetails.js";

// Issue 13, item 3 (phase 1): named clients from a clients file, each with its own quota of open streams;
// one client at its quota is refused (QUOTA_EXCEEDED) while the others keep being served.
const ALPHA_TOKEN = "alpha-secret-token-0123";
const BETA_TOKEN = "beta-secret-token-4567";
const API_TOKEN = "single-api-token-89ab";
const sha256 = (token: string) => createHash("sha256").update(token).digest("hex");
const QUOTA = 2;

const log = captureLog();
const accessLines = () => log.accessLines<AccessEntry>();

let testApp: TestApp;
let stopped = false;
let client: MarketDataServiceClient;

beforeAll(async () => {
  testApp = await startTestApp({
    token: API_TOKEN,
    clients: {
      clients: [
        { name: "alpha", tokenSha256: sha256(ALPHA_TOKEN), quotas: { streams: QUOTA } },
        { name: "beta", tokenSha256: sha256(BETA_TOKEN).toUpperCase(), quotas: { streams: QUOTA } },
      ],
    },
    env: { ACCESS_LOG: "on" },
    log: pino({ level: "info" }, log.sink),
  });
  client = new MarketDataServiceClient(testApp.grpcAddress, credentials.createInsecure());
}, 30_000);

afterAll(async () => {
  client?.close();
  if (!stopped) await testApp?.stop();
});

const open = (token: string, symbol = "BTCUSDT") => {
  const md = new Metadata();
  md.set("authorization", `Bearer ${token}`);
  return client.streamTicks({ connectorType: "ib", marketType: "spot", symbol }, md);
};

const openCount = (name: string) => testApp.app.grpc.quotas.openOf(name);

describe("named clients and their stream quota", () => {
  it("refuses a client at its stream quota with QUOTA_EXCEEDED while another client opens streams; a closed stream frees its place", async () => {
    const alpha = [open(ALPHA_TOKEN), open(ALPHA_TOKEN)];
    for (const s of alpha) expect(await firstOutcome(s)).toBe("open");
    expect(openCount("alpha")).toBe(QUOTA);

    const refused = await firstOutcome(open(ALPHA_TOKEN));
    expect(refused).not.toBe("open");
    const err = refused as ServiceError;
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(err.details).toContain("streams");
    expect(readRichStatus(err)?.errorInfo).toMatchObject({ reason: "QUOTA_EXCEEDED", metadata: { quota: "streams", limit: String(QUOTA), client: "alpha" } });

    const beta = [open(BETA_TOKEN), open(BETA_TOKEN)];
    for (const s of beta) expect(await firstOutcome(s)).toBe("open");
    expect(openCount("beta")).toBe(QUOTA);

    alpha[0]!.on("error", () => undefined);
    alpha[0]!.cancel();
    await until(() => openCount("alpha") === QUOTA - 1, { what: "the cancelled stream's place to be given back" });
    const again = open(ALPHA_TOKEN);
    expect(await firstOutcome(again)).toBe("open");

    for (const s of [alpha[1]!, again, ...beta]) {
      s.on("error", () => undefined);
      s.cancel();
    }
    await until(() => openCount("alpha") === 0 && openCount("beta") === 0, { what: "every place given back" });
  });

  it("returns the count to 0 after repeated open/close cycles, by cancel and by error", async () => {
    for (let cycle = 0; cycle < 10; cycle++) {
      const streams = [open(ALPHA_TOKEN), open(ALPHA_TOKEN)];
      for (const s of streams) expect(await firstOutcome(s)).toBe("open");
      for (const s of streams) {
        s.on("error", () => undefined);
        s.cancel();
      }
      await until(() => openCount("alpha") === 0, { what: `alpha's streams released after cycle ${cycle}` });
      // A stream that ends with an error (an unknown symbol) gives its place back too.
      const failed = await firstOutcome(open(ALPHA_TOKEN, "NO_SUCH_SYMBOL_X"));
      expect(failed).not.toBe("open");
      await until(() => openCount("alpha") === 0, { what: `the failed stream's place released after cycle ${cycle}` });
    }
  });

  it("authenticates PROVIDER_API_TOKEN as client `default` beside the file's clients", async () => {
    const s = open(API_TOKEN);
    expect(await firstOutcome(s)).toBe("open");
    expect(openCount("default")).toBe(1);
    s.on("error", () => undefined);
    s.cancel();
    await until(() => openCount("default") === 0, { what: "default's stream released" });
  });

  it("names the client in the access log line, never its token", async () => {
    await until(() => accessLines().some((l) => l.client === "default"), { what: "an access line for client default" });
    const streams = accessLines().filter((l) => l.protocol === "grpc" && l.method === "ibprovider.v1.MarketDataService.StreamTicks");
    expect(new Set(streams.map((l) => l.client))).toEqual(new Set(["alpha", "beta", "default"]));
    expect(streams.find((l) => l.status === "RESOURCE_EXHAUSTED")?.client).toBe("alpha");
    for (const l of streams) expect(l.peer).toMatch(/^127\.0\.0\.1:\d+$/);
    for (const token of [ALPHA_TOKEN, BETA_TOKEN, API_TOKEN]) expect(log.output()).not.toContain(token);
  });

  it("gives every place back when the server shuts down (last: it stops the app)", async () => {
    const streams = [open(ALPHA_TOKEN), open(BETA_TOKEN)];
    for (const s of streams) expect(await firstOutcome(s)).toBe("open");
    const ended = streams.map((s) => new Promise<ServiceError>((resolve) => s.once("error", resolve)));
    stopped = true;
    await testApp.stop();
    for (const err of await Promise.all(ended)) expect(err.code).toBe(status.UNAVAILABLE);
    expect([openCount("alpha"), openCount("beta")]).toEqual([0, 0]);
  });
});
