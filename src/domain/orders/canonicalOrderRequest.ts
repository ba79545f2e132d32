/**
 * The canonical text of an order request: what the store keeps as the request "as placed" and compares when a
 * client order id comes again (equal text = the same request: a retry; different = the id reused). Decimals in
 * their wire form (1.50 and 1.5 are one price), keys in a fixed order, absent fields left out, bracket legs with
 * their client order ids filled in (an explicit id equal to the derived one is the same request).
 */
import { dec, toWire } from "../decimal.js";
import { bracketLegClientOrderId, type InstrumentRef, type OrderRequest } from "./orderRequest.js";

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
  bracket?: { takeProfit?: { clientOrderId: string; limitPrice: string }; stopLoss?: { clientOrderId: string; stopPrice: string } };
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
    if (takeProfit !== undefined) shape.bracket.takeProfit = { clientOrderId: takeProfit.clientOrderId ?? bracketLegClientOrderId(request.clientOrderId, "takeProfit"), limitPrice: toWire(takeProfit.limitPrice) };
    if (stopLoss !== undefined) shape.bracket.stopLoss = { clientOrderId: stopLoss.clientOrderId ?? bracketLegClientOrderId(request.clientOrderId, "stopLoss"), stopPrice: toWire(stopLoss.stopPrice) };
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
    if (s.bracket.takeProfit !== undefined) request.bracket.takeProfit = { clientOrderId: s.bracket.takeProfit.clientOrderId, limitPrice: dec(s.bracket.takeProfit.limitPrice) };
    if (s.bracket.stopLoss !== undefined) request.bracket.stopLoss = { clientOrderId: s.bracket.stopLoss.clientOrderId, stopPrice: dec(s.bracket.stopLoss.stopPrice) };
  }
  return request;
}
