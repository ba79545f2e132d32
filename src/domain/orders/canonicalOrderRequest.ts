/**
 * The canonical text of an order request: what the store keeps as the request "as placed" and compares when a
 * client order id comes again (equal text = the same request: a retry; different = the id reused). Decimals in
 * their wire form (1.50 and 1.5 are one price), keys in a fixed order, absent fields left out, bracket legs with
 * their client order ids filled in (an explicit id equal to the derived one is the same request). A leg's
 * stop-limit price and own time in force come only when set (a time in force equal to the parent's is left
 * out: the same request), so the text of a request without them is what it was before they existed and
 * orders stored then still compare equal.
 */
import { dec, toWire } from "../decimal.js";
import { bracketLegClientOrderId, type InstrumentRef, type OrderRequest, type TimeInForce } from "./orderRequest.js";

interface CanonicalShape {
  clientOrderId: string;
  account: string;
  instrument: { conId: number; symbol: string; secType: string; exchange: string; currency: string; multiplier?: string };
  side: string;
  quantity: string;
  type: string;
  limitPrice?: string;
  stopPrice?: string;
  tif: string;
  outsideRth: boolean;
  bracket?: { takeProfit?: { clientOrderId: string; limitPrice: string; tif?: string }; stopLoss?: { clientOrderId: string; stopPrice: string; limitPrice?: string; tif?: string } };
}

export function canonicalOrderRequest(request: OrderRequest): string {
  const i = request.instrument;
  const shape: CanonicalShape = {
    clientOrderId: request.clientOrderId,
    account: request.account,
    instrument: { conId: i.conId, symbol: i.symbol, secType: i.secType, exchange: i.exchange, currency: i.currency },
    side: request.side,
    quantity: toWire(request.quantity),
    type: request.type,
    tif: request.tif,
    outsideRth: request.outsideRth,
  };
  // A multiplier of 1 is the same contract as none.
  if (i.multiplier !== undefined && !i.multiplier.eq(1)) shape.instrument.multiplier = toWire(i.multiplier);
  if (request.limitPrice !== undefined) shape.limitPrice = toWire(request.limitPrice);
  if (request.stopPrice !== undefined) shape.stopPrice = toWire(request.stopPrice);
  const { takeProfit, stopLoss } = request.bracket ?? {};
  if (takeProfit !== undefined || stopLoss !== undefined) {
    shape.bracket = {};
    // Keys in this order, the optional ones after the ones every leg had (the texts stored before them stay equal).
    const ownTif = (tif: TimeInForce | undefined) => (tif === undefined || tif === request.tif ? {} : { tif });
    if (takeProfit !== undefined) shape.bracket.takeProfit = { clientOrderId: takeProfit.clientOrderId ?? bracketLegClientOrderId(request.clientOrderId, "takeProfit"), limitPrice: toWire(takeProfit.limitPrice), ...ownTif(takeProfit.tif) };
    if (stopLoss !== undefined) {
      shape.bracket.stopLoss = {
        clientOrderId: stopLoss.clientOrderId ?? bracketLegClientOrderId(request.clientOrderId, "stopLoss"),
        stopPrice: toWire(stopLoss.stopPrice),
        ...(stopLoss.limitPrice === undefined ? {} : { limitPrice: toWire(stopLoss.limitPrice) }),
        ...ownTif(stopLoss.tif),
      };
    }
  }
  return JSON.stringify(shape);
}

/** The request back from its canonical text (the store's rows). Throws on text that is not one. */
export function orderRequestFromCanonical(text: string): OrderRequest {
  const s = JSON.parse(text) as CanonicalShape;
  const instrument: InstrumentRef = { conId: s.instrument.conId, symbol: s.instrument.symbol, secType: s.instrument.secType, exchange: s.instrument.exchange, currency: s.instrument.currency };
  if (s.instrument.multiplier !== undefined) instrument.multiplier = dec(s.instrument.multiplier);
  const request: OrderRequest = {
    clientOrderId: s.clientOrderId,
    account: s.account,
    instrument,
    side: s.side as OrderRequest["side"],
    quantity: dec(s.quantity),
    type: s.type as OrderRequest["type"],
    tif: s.tif as OrderRequest["tif"],
    outsideRth: s.outsideRth,
  };
  if (s.limitPrice !== undefined) request.limitPrice = dec(s.limitPrice);
  if (s.stopPrice !== undefined) request.stopPrice = dec(s.stopPrice);
  if (s.bracket !== undefined) {
    request.bracket = {};
    const tp = s.bracket.takeProfit;
    const sl = s.bracket.stopLoss;
    if (tp !== undefined) request.bracket.takeProfit = { clientOrderId: tp.clientOrderId, limitPrice: dec(tp.limitPrice), ...(tp.tif === undefined ? {} : { tif: tp.tif as TimeInForce }) };
    if (sl !== undefined) {
      request.bracket.stopLoss = { clientOrderId: sl.clientOrderId, stopPrice: dec(sl.stopPrice), ...(sl.limitPrice === undefined ? {} : { limitPrice: dec(sl.limitPrice) }), ...(sl.tif === undefined ? {} : { tif: sl.tif as TimeInForce }) };
    }
  }
  return request;
}
