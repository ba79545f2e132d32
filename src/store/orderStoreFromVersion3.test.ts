import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { dec } from "../domain/decimal.js";
import type { OrderRequest } from "../domain/orders/orderRequest.js";
import { MIGRATIONS } from "./migrations.js";
import { OrderStore } from "./orderStore.js";

// A store file written before migration 4 (an order, its fill, the kill switch engaged, as that code wrote
// them; the request's text as canonicalOrderRequest wrote it at be3c29c) opened by this code: migrated, read
// back without amended terms, execution details or by_client, and the request still compares equal.
describe("an order store of schema version 3 with rows", () => {
  const dir = mkdtempSync(join(tmpdir(), "ibp-v3-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("migrates to 4 and reads its rows as they were", () => {
    const path = join(dir, "store.db");
    const old = new Database(path);
    for (const [i, sql] of MIGRATIONS.slice(0, 3).entries()) {
      old.exec(sql);
      old.pragma(`user_version = ${i + 1}`);
    }
    // Text produced by canonicalOrderRequest at be3c29c for this request (bracket with both legs).
    const text = '{"clientOrderId":"v3-1","account":"DU1234567","instrument":{"conId":265598,"symbol":"AAPL","secType":"STK","exchange":"SMART","currency":"USD"},"side":"BUY","quantity":"10","type":"LMT","tif":"DAY","outsideRth":false,"limitPrice":"228.1","bracket":{"takeProfit":{"clientOrderId":"v3-1.tp","limitPrice":"240"},"stopLoss":{"clientOrderId":"v3-1.sl","stopPrice":"220"}}}';
    const insert = old.prepare("INSERT INTO orders (account, client_order_id, id_space, order_id, perm_id, role, parent_client_order_id, request, status, filled, remaining, avg_fill_price, error_code, error_text, created_ms, updated_ms) VALUES (?, ?, 'h:4002/1', ?, NULL, ?, ?, ?, 'Submitted', '0', '10', NULL, NULL, NULL, 1, 1)");
    insert.run("DU1234567", "v3-1", 10, "parent", null, text);
    insert.run("DU1234567", "v3-1.tp", 11, "takeProfit", "v3-1", text);
    insert.run("DU1234567", "v3-1.sl", 12, "stopLoss", "v3-1", text);
    old.prepare("INSERT INTO executions (exec_id, account, order_id, client_order_id, con_id, time_ms, side, price, quantity) VALUES ('e1', 'DU1234567', 10, 'v3-1', 265598, 5, 'BOT', '228.1', '10')").run();
    old.prepare("INSERT INTO order_switches (name, engaged, reason, changed_ms) VALUES ('killSwitch', 1, 'CancelAllOrders by ops: note', 7)").run();
    old.close();

    const store = OrderStore.open(path);
    try {
      const sl = store.get("DU1234567", "v3-1.sl")!;
      expect(sl.amended).toBeUndefined();
      expect(sl.leg).toMatchObject({ type: "STP", tif: "DAY" });
      expect(sl.leg.limitPrice).toBeUndefined();
      expect(store.get("DU1234567", "v3-1.tp")!.leg.tif).toBe("DAY");
      const [execution] = store.listExecutions(0, { account: "DU1234567", limit: 10 });
      expect(execution!.execution).not.toHaveProperty("exchange");
      expect(execution!.execution).not.toHaveProperty("liquidity");
      expect(execution!.execution).not.toHaveProperty("cumulativeQuantity");
      expect(store.killSwitch()).toEqual({ engaged: true, reason: "CancelAllOrders by ops: note", changedMs: 7 });
      // The same request again (a retried PlaceOrder): already placed, not CLIENT_ORDER_ID_REUSED.
      const request: OrderRequest = { clientOrderId: "v3-1", account: "DU1234567", instrument: { conId: 265598, symbol: "AAPL", secType: "STK", exchange: "SMART", currency: "USD" }, side: "BUY", quantity: dec("10"), type: "LMT", limitPrice: dec("228.10"), tif: "DAY", outsideRth: false, bracket: { takeProfit: { limitPrice: dec("240"), tif: "DAY" }, stopLoss: { stopPrice: dec("220") } } };
      const claim = store.claim(request, { nextValidId: 100, idSpace: "h:4002/1" });
      expect(claim.new).toBe(false);
      expect(claim.legs.map((l) => l.clientOrderId)).toEqual(["v3-1.tp", "v3-1.sl"]);
    } finally {
      store.close();
    }
  });
});
