/**
 * The order messages at every server version the simulator takes orders at (145 … 176), decoded by
 * @stoqey/ib's own Decoder configured for that version: each must be read completely (no "unprocessed
 * data", no underrun) and give back what was encoded. The end-to-end tests cover 176 on a live socket.
 */
import { Decimal } from "decimal.js";
// The decoder has no public entry point; its dist module is the reference layout.
import { Decoder } from "@stoqey/ib/dist/core/io/decoder.js";
import { describe, expect, it } from "vitest";
import { createMarket } from "./market/index.js";
import * as om from "./messages/outboundOrders.js";
import type { SimExecution, SimOrder } from "./orders/orderTypes.js";
import { fieldText, type Field } from "./wire/fields.js";

const market = createMarket({ seed: 1, now: () => Date.UTC(2026, 10, 18, 15) });
const aapl = market.findContracts({ symbol: "AAPL", secType: "STK" })[0]!;

const order: SimOrder = {
  orderId: 5,
  clientId: 7,
  permId: 1100000005,
  account: "DU1234567",
  instrument: aapl,
  action: "BUY",
  totalQuantity: new Decimal(100),
  orderType: "STP LMT",
  lmtPrice: new Decimal("230.55"),
  auxPrice: new Decimal("230.5"),
  tif: "GTC",
  ocaGroup: "oca",
  ocaType: 1,
  orderRef: "ref-5",
  parentId: 4,
  outsideRth: true,
  transmitted: true,
  status: "Filled",
  triggered: true,
  filled: new Decimal(100),
  avgFillPrice: new Decimal("230.52"),
  lastFillPrice: new Decimal("230.55"),
  commission: new Decimal(1),
  sawOpen: true,
  checkedToMs: 0,
  completedTimeMs: Date.UTC(2026, 10, 18, 15),
  completedStatus: "Filled",
};

const execution: SimExecution = {
  execId: "4190ab05.6a1c4b30.01.01",
  orderId: 5,
  clientId: 7,
  permId: 1100000005,
  account: "DU1234567",
  instrument: aapl,
  timeMs: Date.UTC(2026, 10, 18, 15),
  side: "BOT",
  shares: new Decimal(40),
  price: new Decimal("230.5"),
  cumQty: new Decimal(40),
  avgPrice: new Decimal("230.5"),
  orderRef: "ref-5",
  exchange: "NASDAQ",
  commission: new Decimal(1),
  realizedPnl: new Decimal("-12.5"),
  lastLiquidity: 2,
};

/** Decodes one frame at `sv`; returns the events and the errors @stoqey/ib raised. */
function decode(sv: number, fields: Field[]): { events: [string, unknown[]][]; errors: string[] } {
  const events: [string, unknown[]][] = [];
  const errors: string[] = [];
  const d = new Decoder({
    serverVersion: sv,
    emitEvent: (name: string, ...args: unknown[]) => events.push([name, args]),
    emitError: (m: string) => errors.push(m),
    emitInfo: () => {},
  } as unknown as ConstructorParameters<typeof Decoder>[0]);
  d.enqueueMessage(fields.map(fieldText));
  d.process();
  return { events, errors };
}

const whatIf = {
  initMarginBefore: new Decimal(1000),
  maintMarginBefore: new Decimal(800),
  equityWithLoanBefore: new Decimal(100000),
  initMarginChange: new Decimal("5752.5"),
  maintMarginChange: new Decimal("4602"),
  equityWithLoanChange: new Decimal(-1),
  initMarginAfter: new Decimal("6752.5"),
  maintMarginAfter: new Decimal("5402"),
  equityWithLoanAfter: new Decimal(99999),
  commission: new Decimal(1),
};

describe("order messages read by @stoqey/ib at each server version", () => {
  for (const sv of [145, 148, 150, 151, 158, 160, 162, 166, 170, 176]) {
    it(`server version ${sv}`, () => {
      const open = decode(sv, om.openOrder(sv, order));
      expect(open.errors).toEqual([]);
      const [name, [orderId, contract, o, state]] = open.events[0] as [string, [number, Record<string, unknown>, Record<string, unknown>, Record<string, unknown>]];
      expect(name).toBe("openOrder");
      expect(orderId).toBe(5);
      expect(contract).toMatchObject({ conId: aapl.conId, symbol: "AAPL", secType: "STK", currency: "USD" });
      expect(o).toMatchObject({ action: "BUY", totalQuantity: 100, orderType: "STP LMT", lmtPrice: 230.55, auxPrice: 230.5, tif: "GTC", ocaGroup: "oca", ocaType: 1 });
      expect(o).toMatchObject({ account: "DU1234567", orderRef: "ref-5", clientId: 7, permId: 1100000005, parentId: 4, outsideRth: true, whatIf: false });
      expect(state).toMatchObject({ status: "Filled", initMarginAfter: undefined, commission: undefined });

      const wi = decode(sv, om.openOrder(sv, { ...order, status: "PreSubmitted" }, whatIf));
      expect(wi.errors).toEqual([]);
      const wiState = (wi.events[0]![1] as unknown[])[3] as Record<string, unknown>;
      expect(wiState).toMatchObject({ status: "PreSubmitted", initMarginChange: 5752.5, initMarginAfter: 6752.5, equityWithLoanAfter: 99999, commission: 1, commissionCurrency: "USD" });

      const status = decode(sv, om.orderStatus(sv, order));
      expect(status.errors).toEqual([]);
      expect(status.events[0]).toEqual(["orderStatus", [5, "Filled", 100, 0, 230.52, 1100000005, 4, 230.55, 7, "", 0]]);

      const exec = decode(sv, om.executionData(sv, 9, execution));
      expect(exec.errors).toEqual([]);
      const [reqId, , e] = exec.events[0]![1] as [number, unknown, Record<string, unknown>];
      expect(reqId).toBe(9);
      expect(e).toMatchObject({ execId: execution.execId, orderId: 5, side: "BOT", shares: 40, price: 230.5, permId: 1100000005, clientId: 7, cumQty: 40, avgPrice: 230.5, orderRef: "ref-5", lastLiquidity: 2 });

      const report = decode(sv, om.commissionReport(execution));
      expect(report.errors).toEqual([]);
      expect(report.events[0]![1]).toEqual([{ execId: execution.execId, commission: 1, currency: "USD", realizedPNL: -12.5, yield: undefined, yieldRedemptionDate: 0 }]);

      if (sv >= 150) {
        const done = decode(sv, om.completedOrder(sv, order));
        expect(done.errors).toEqual([]);
        const [, o2, s2] = done.events[0]![1] as [unknown, Record<string, unknown>, Record<string, unknown>];
        expect(o2).toMatchObject({ orderRef: "ref-5", permId: 1100000005, filledQuantity: 100 });
        expect(s2).toMatchObject({ status: "Filled", completedStatus: "Filled", completedTime: "20261118 10:00:00 US/Eastern" });
      }
    });
  }
});
