/**
 * placeOrder decoded exactly as @stoqey/ib 1.6.10 encodes it: its own Encoder produces the fields (for
 * every server version the simulator takes orders at, and orders that use the optional blocks — combo
 * legs, delta neutral, scale, hedge, algo, conditions, PEG BEST/MID), and the decoder must take exactly
 * all of them and read the fields the engine uses.
 */
import {
  ConjunctionConnection,
  ExecutionCondition,
  OrderAction,
  OrderType,
  PriceCondition,
  SecType,
  TimeCondition,
  TimeInForce,
  TriggerMethod,
  VolumeCondition,
  type Contract,
  type Order,
} from "@stoqey/ib";
// The encoder has no public entry point; its dist module is the reference layout.
import { Encoder } from "@stoqey/ib/dist/core/io/encoder.js";
import { describe, expect, it } from "vitest";
import { FieldReader } from "./messages/inbound.js";
import { decodeCancelOrder, decodePlaceOrder, decodeReqExecutions } from "./messages/inboundOrders.js";
import { UNSET_DOUBLE } from "./wire/fields.js";

type Tokens = unknown[];

/** The wire fields @stoqey/ib sends for one call at a server version (its socket's flattening and 1/0 booleans). */
function encode(sv: number, call: (e: Encoder) => void): string[] {
  const sent: string[][] = [];
  const errors: string[] = [];
  const enc = new Encoder({
    serverVersion: sv,
    // As @stoqey/ib's socket sends them: nested arrays flattened, booleans 1/0, undefined and null "".
    sendMsg: (...tokens: Tokens) => sent.push((tokens.flat(Infinity) as unknown[]).map((v) => (v === true ? "1" : v === false ? "0" : v === undefined || v === null ? "" : String(v)))),
    emitError: (m: string) => errors.push(m),
  });
  call(enc);
  expect(errors).toEqual([]);
  expect(sent).toHaveLength(1);
  return sent[0]!;
}

/** Decodes fields after the message id, and checks that every field was consumed. */
function decodeAll<T>(fields: string[], decode: (sv: number, r: FieldReader) => T, sv: number): T {
  const r = new FieldReader(fields.slice(1));
  const out = decode(sv, r);
  expect(r.remaining).toBe(0);
  return out;
}

const AAPL: Contract = { symbol: "AAPL", secType: SecType.STK, exchange: "SMART", currency: "USD", primaryExch: "NASDAQ" };
const base: Order = {
  action: OrderAction.SELL,
  orderType: OrderType.STP_LMT,
  totalQuantity: 12.5,
  lmtPrice: 229.5,
  auxPrice: 229.75,
  tif: TimeInForce.GTC,
  ocaGroup: "oca-7",
  ocaType: 1,
  account: "DU1234567",
  orderRef: "client-order-42",
  transmit: false,
  parentId: 41,
  outsideRth: true,
};

describe("placeOrder as @stoqey/ib encodes it", () => {
  for (const sv of [145, 150, 160, 166, 170, 176]) {
    it(`reads every field at server version ${sv}`, () => {
      const fields = encode(sv, (e) => e.placeOrder(42, AAPL, base));
      const req = decodeAll(fields, decodePlaceOrder, sv);
      expect(req).toMatchObject({
        orderId: 42,
        action: "SELL",
        totalQuantity: "12.5",
        orderType: "STP LMT",
        lmtPrice: "229.5",
        auxPrice: "229.75",
        tif: "GTC",
        ocaGroup: "oca-7",
        ocaType: 1,
        account: "DU1234567",
        orderRef: "client-order-42",
        transmit: false,
        parentId: 41,
        outsideRth: true,
        whatIf: false,
      });
      expect(req.contract).toMatchObject({ symbol: "AAPL", secType: "STK", exchange: "SMART", primaryExch: "NASDAQ", currency: "USD" });
    });
  }

  it("reads the optional blocks: conditions, algo params, hedge, delta neutral, scale, what-if", () => {
    const o: Order = {
      ...base,
      orderType: OrderType.LMT,
      whatIf: true,
      transmit: true,
      algoStrategy: "Adaptive",
      algoParams: [{ tag: "adaptivePriority", value: "Normal" }],
      hedgeType: "D",
      hedgeParam: "0.5",
      deltaNeutralOrderType: "MKT",
      deltaNeutralAuxPrice: 1,
      scalePriceIncrement: 0.05,
      scaleInitLevelSize: 10,
      conditions: [
        new PriceCondition(231, TriggerMethod.Default, 265598, "SMART", true, ConjunctionConnection.AND),
        new TimeCondition("20261118 15:00:00 US/Eastern", true, ConjunctionConnection.OR),
        new ExecutionCondition("SMART", SecType.STK, "MSFT", ConjunctionConnection.AND),
        new VolumeCondition(1000, 265598, "SMART", false, ConjunctionConnection.AND),
      ],
    };
    const req = decodeAll(encode(176, (e) => e.placeOrder(43, AAPL, o)), decodePlaceOrder, 176);
    expect(req).toMatchObject({ orderId: 43, orderType: "LMT", whatIf: true, transmit: true, algoStrategy: "Adaptive", conditionCount: 4, orderRef: "client-order-42" });
  });

  it("reads PEG MID / PEG BEST offsets and a BAG's legs", () => {
    const peg = decodeAll(encode(176, (e) => e.placeOrder(44, AAPL, { ...base, orderType: OrderType.PEG_MID, midOffsetAtWhole: 0.01, midOffsetAtHalf: 0.005 })), decodePlaceOrder, 176);
    expect(peg.orderType).toBe("PEG MID");
    const best = decodeAll(
      encode(176, (e) => e.placeOrder(45, AAPL, { ...base, orderType: OrderType.PEG_BEST, minCompeteSize: 100, competeAgainstBestOffset: Infinity, midOffsetAtWhole: 0.01, midOffsetAtHalf: 0.005 })),
      decodePlaceOrder,
      176,
    );
    expect(best.orderId).toBe(45);
    const bag: Contract = {
      symbol: "AAPL",
      secType: SecType.BAG,
      exchange: "SMART",
      currency: "USD",
      comboLegs: [
        { conId: 1, ratio: 1, action: OrderAction.BUY, exchange: "SMART" },
        { conId: 2, ratio: 1, action: OrderAction.SELL, exchange: "SMART" },
      ],
    };
    const combo = decodeAll(encode(176, (e) => e.placeOrder(46, bag, { ...base, orderType: OrderType.LMT, orderComboLegs: [{ price: 1 }, { price: 2 }], smartComboRoutingParams: [{ tag: "NonGuaranteed", value: "1" }] })), decodePlaceOrder, 176);
    expect(combo).toMatchObject({ orderId: 46, orderRef: "client-order-42" });
  });

  it("treats an unset price as unset whether it arrives as \"\" or as Double.MAX_VALUE", () => {
    const fields = encode(176, (e) => e.placeOrder(47, AAPL, { action: OrderAction.BUY, orderType: OrderType.MKT, totalQuantity: 1, lmtPrice: Number.MAX_VALUE }));
    expect(decodeAll(fields, decodePlaceOrder, 176).lmtPrice).toBeUndefined();
    const sentinel = [...fields];
    const lmtIndex = 1 + 1 + 12 + 2 + 3; // id, orderId, contract, secIdType/secId, action/qty/type
    sentinel[lmtIndex] = UNSET_DOUBLE;
    sentinel[lmtIndex + 1] = "1.7976931348623157e+308";
    const req = decodeAll(sentinel, decodePlaceOrder, 176);
    expect([req.lmtPrice, req.auxPrice, req.orderType, req.transmit]).toEqual([undefined, undefined, "MKT", true]);
  });

  it("reads cancelOrder and reqExecutions' filter", () => {
    const cancel = encode(176, (e) => e.cancelOrder(48, { manualOrderCancelTime: "", extOperator: "", manualOrderIndicator: undefined }));
    expect(decodeAll(cancel, decodeCancelOrder, 176)).toBe(48);
    const exec = encode(176, (e) => e.reqExecutions(9, { clientId: "7", acctCode: "DU1234567", time: "20261118-15:00:00", symbol: "AAPL", secType: SecType.STK, exchange: "SMART", side: "BUY" }));
    expect(decodeAll(exec, decodeReqExecutions, 176)).toEqual({
      reqId: 9,
      filter: { clientId: 7, acctCode: "DU1234567", time: "20261118-15:00:00", symbol: "AAPL", secType: "STK", exchange: "SMART", side: "BUY" },
    });
  });
});
