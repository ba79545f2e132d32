import { createHash } from "node:crypto";
import { credentials, Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccountServiceClient } from "../../gen/ibprovider/v1/account_service.js";
import { RuntimeServiceClient } from "../../gen/ibprovider/v1/runtime_service.js";
import { SymbolServiceClient } from "../../gen/ibprovider/v1/symbol_service.js";
import { OrderServiceService } from "../../gen/ibprovider/v1/order_service.js";
import { startTestApp, type TestApp } from "../testing/testApp.js";
import { errorsOfEveryMethod } from "./testing/everyMethod.js";
import { readRichStatus } from "./statusDetails.js";

// Issue 13, item 3: a client's scopes say which services it may call (clients file `scopes`; all when omitted).
const VIEWER_TOKEN = "viewer-secret-token-0123";
const OPS_TOKEN = "ops-secret-token-4567";
const TRADER_TOKEN = "trader-secret-token-8901";
const sha256 = (token: string) => createHash("sha256").update(token).digest("hex");

let testApp: TestApp;
beforeAll(async () => {
  testApp = await startTestApp({
    clients: { clients: [{ name: "viewer", tokenSha256: sha256(VIEWER_TOKEN), scopes: ["market-data"] }, { name: "ops", tokenSha256: sha256(OPS_TOKEN) }, { name: "trader", tokenSha256: sha256(TRADER_TOKEN), scopes: ["trade"] }] },
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

describe("the trade scope (OrderService)", () => {
  const ACTIONS = ["PlaceOrder", "PreviewOrder", "ModifyOrder", "CancelOrder", "CancelAllOrders", "EnableOrders"];
  const reasonOf = (err: ServiceError | undefined) => (err === undefined ? "OK" : readRichStatus(err)?.errorInfo?.reason);

  it("is held only when named: a client without scopes reads orders (account) but every action needs trade", async () => {
    const errors = await errorsOfEveryMethod(testApp.grpcAddress, OrderServiceService, () => md(OPS_TOKEN));
    for (const [method, err] of errors) {
      if (ACTIONS.includes(method)) {
        expect(reasonOf(err), method).toBe("SCOPE_MISSING");
        expect(readRichStatus(err!)?.errorInfo?.metadata).toMatchObject({ scope: "trade", client: "ops" });
      } else expect(err?.code, method).not.toBe(status.PERMISSION_DENIED);
    }
  });

  it("a trade client passes every OrderService method (its reads too) and is still refused the account service", async () => {
    const errors = await errorsOfEveryMethod(testApp.grpcAddress, OrderServiceService, () => md(TRADER_TOKEN));
    expect(errors.size).toBe(11);
    for (const [method, err] of errors) expect(err?.code, `${method}: ${reasonOf(err)}`).not.toBe(status.PERMISSION_DENIED);
    const accounts = new AccountServiceClient(testApp.grpcAddress, credentials.createInsecure());
    expect((await outcome((cb) => accounts.listAccounts({}, md(TRADER_TOKEN), cb)))?.code).toBe(status.PERMISSION_DENIED);
    accounts.close();
  });

  it("a market-data client is refused the reads naming both scopes that would do", async () => {
    const errors = await errorsOfEveryMethod(testApp.grpcAddress, OrderServiceService, () => md(VIEWER_TOKEN));
    const read = errors.get("ListOrders")!;
    expect(read.code).toBe(status.PERMISSION_DENIED);
    expect(read.details).toMatch(/client "viewer" may not call ibprovider\.v1\.OrderService\.ListOrders: it needs scope "account" or "trade"/);
    expect(readRichStatus(read)?.errorInfo).toMatchObject({ reason: "SCOPE_MISSING", metadata: { scope: "account|trade", client: "viewer" } });
    expect(readRichStatus(errors.get("PlaceOrder")!)?.errorInfo?.metadata).toMatchObject({ scope: "trade" });
  });

  it("REST: 403 outside the scope; within it each route reaches its own method", async () => {
    const post = (path: string, token: string) =>
      fetch(`${testApp.app.rest.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: "{}" });
    const placedByOps = await post("/api/orders", OPS_TOKEN);
    expect(placedByOps.status).toBe(403);
    expect(JSON.stringify(await placedByOps.json())).toMatch(/SCOPE_MISSING/);
    // Each route reaches its own method (its answer says which): verbs, and /stream before {client_order_id}.
    const actions: Record<string, [number, RegExp]> = {
      "/api/orders": [400, /order to place/],
      "/api/orders:preview": [400, /order to preview/],
      "/api/orders/a-1:modify": [400, /NOTHING_TO_MODIFY/],
      "/api/orders/a-1:cancel": [404, /ORDER_NOT_FOUND/],
      "/api/orders:cancelAll": [200, /KILL_SWITCH_ENGAGED/],
      "/api/orders:enable": [200, /ORDERS_DISABLED/],
    };
    for (const [path, [code, body]] of Object.entries(actions)) {
      const res = await post(path, TRADER_TOKEN);
      expect(res.status, path).toBe(code);
      expect(JSON.stringify(await res.json()), path).toMatch(body);
    }
    const reads: Record<string, [number, RegExp]> = {
      "/api/orders": [200, /"orders":\[\]/],
      "/api/orders/a-1": [404, /client_order_id \\"a-1\\"/],
      "/api/orders/perm/123": [404, /perm_id/],
      "/api/executions": [200, /"executions":\[\]/],
      "/api/trading-status": [200, /ORDERS_DISABLED/],
    };
    for (const [path, [code, body]] of Object.entries(reads)) {
      const res = await fetch(`${testApp.app.rest.url}${path}`, { headers: { authorization: `Bearer ${OPS_TOKEN}` } });
      expect(res.status, path).toBe(code);
      expect(JSON.stringify(await res.json()), path).toMatch(body);
    }
    // The stream's route is StreamOrders (not GetOrder of an order "stream"): its first line is SUBSCRIBED.
    const controller = new AbortController();
    const stream = await fetch(`${testApp.app.rest.url}/api/orders/stream`, { headers: { authorization: `Bearer ${OPS_TOKEN}` }, signal: controller.signal });
    expect(stream.status).toBe(200);
    const first = await stream.body!.getReader().read();
    controller.abort();
    expect(new TextDecoder().decode(first.value)).toContain("STREAM_STATUS_KIND_SUBSCRIBED");
  });
});
