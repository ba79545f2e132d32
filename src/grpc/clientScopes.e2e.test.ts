import { createHash } from "node:crypto";
import { credentials, Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccountServiceClient } from "../../gen/ibprovider/v1/account_service.js";
import { RuntimeServiceClient } from "../../gen/ibprovider/v1/runtime_service.js";
import { SymbolServiceClient } from "../../gen/ibprovider/v1/symbol_service.js";
import { startTestApp, type TestApp } from "../testing/testApp.js";
import { readRichStatus } from "./statusDetails.js";

// Issue 13, item 3: a client's scopes say which services it may call (clients file `scopes`; all when omitted).
const VIEWER_TOKEN = "viewer-secret-token-0123";
const OPS_TOKEN = "ops-secret-token-4567";
const sha256 = (token: string) => createHash("sha256").update(token).digest("hex");

let testApp: TestApp;
beforeAll(async () => {
  testApp = await startTestApp({
    clients: { clients: [{ name: "viewer", tokenSha256: sha256(VIEWER_TOKEN), scopes: ["market-data"] }, { name: "ops", tokenSha256: sha256(OPS_TOKEN) }] },
  });
}, 30_000);
afterAll(async () => {
  await testApp?.stop();
});

const md = (token: string) => {
  const m = new Metadata();
  m.set("authorization", `Bearer ${token}`);
  return m;
};
const outcome = (run: (cb: (err: ServiceError | null) => void) => void) =>
  new Promise<ServiceError | null>((resolve) => run((err) => resolve(err)));

describe("client scopes", () => {
  it("a market-data client lists symbols but is refused accounts and runtime with PERMISSION_DENIED SCOPE_MISSING; a client without scopes calls both", async () => {
    const symbols = new SymbolServiceClient(testApp.grpcAddress, credentials.createInsecure());
    const accounts = new AccountServiceClient(testApp.grpcAddress, credentials.createInsecure());
    const runtime = new RuntimeServiceClient(testApp.grpcAddress, credentials.createInsecure());
    try {
      expect(await outcome((cb) => symbols.listSymbols({ connectorType: "ib", marketType: "spot", resolve: false }, md(VIEWER_TOKEN), cb))).toBeNull();
      const refused = await outcome((cb) => accounts.listAccounts({}, md(VIEWER_TOKEN), cb));
      expect(refused?.code).toBe(status.PERMISSION_DENIED);
      expect(refused?.details).toMatch(/client "viewer" may not call ibprovider\.v1\.AccountService: it needs scope "account"/);
      expect(readRichStatus(refused!)?.errorInfo).toMatchObject({ reason: "SCOPE_MISSING", metadata: { scope: "account", client: "viewer" } });
      expect((await outcome((cb) => runtime.getRuntimeProof({}, md(VIEWER_TOKEN), cb)))?.code).toBe(status.PERMISSION_DENIED);
      expect(await outcome((cb) => accounts.listAccounts({}, md(OPS_TOKEN), cb))).toBeNull();
      expect(await outcome((cb) => runtime.getRuntimeProof({}, md(OPS_TOKEN), cb))).toBeNull();
    } finally {
      for (const c of [symbols, accounts, runtime]) c.close();
    }
  });

  it("REST answers a call outside the client's scopes 403 with the reason, as gRPC does", async () => {
    const res = await fetch(`${testApp.app.rest.url}/api/accounts`, { headers: { authorization: `Bearer ${VIEWER_TOKEN}` } });
    expect(res.status).toBe(403);
    expect(JSON.stringify(await res.json())).toMatch(/SCOPE_MISSING/);
    expect((await fetch(`${testApp.app.rest.url}/api/accounts`, { headers: { authorization: `Bearer ${OPS_TOKEN}` } })).status).toBe(200);
  });
});
