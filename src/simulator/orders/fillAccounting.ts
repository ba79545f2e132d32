/**
 * What an execution does to its account: the position's size and average cost, cash and realized PnL.
 * IB's conventions: the average cost is per unit with the multiplier included and the opening commissions
 * folded in; a closing execution realizes (price × multiplier − average cost) per unit closed, net of its
 * commission. Stocks, options, crypto, ... move cash by their value; futures move cash only by realized
 * PnL and commissions (their open PnL is in the account's futures PnL).
 */
import { Decimal } from "decimal.js";
import { multiplier, type AccountState, type PositionState } from "../account.js";
import type { SimExecution } from "./orderTypes.js";

/** Applies an execution; returns the PnL it realized (undefined for an execution that only opened). */
export function applyExecution(acct: AccountState, e: SimExecution): Decimal | undefined {
  const inst = e.instrument;
  const mult = multiplier(inst);
  const signed = e.side === "BOT" ? e.shares : e.shares.neg();
  const unitValue = e.price.mul(mult);
  const isFut = inst.secType === "FUT";
  let pos: PositionState | undefined = acct.positions.find((p) => p.instrument.conId === inst.conId);
  const q0 = pos?.quantity ?? new Decimal(0);
  let realizedGross: Decimal | undefined;
  let opened = signed;
  if (!q0.isZero() && q0.isNeg() !== signed.isNeg()) {
    const closing = Decimal.min(signed.abs(), q0.abs());
    realizedGross = closing.mul(unitValue.sub(pos!.avgCost)).mul(q0.isNeg() ? -1 : 1);
    opened = signed.isNeg() ? signed.add(closing) : signed.sub(closing);
  }
  const q1 = q0.add(signed);
  if (!pos) {
    pos = { instrument: inst, quantity: new Decimal(0), avgCost: new Decimal(0) };
    acct.positions.push(pos);
  }
  if (q1.isZero()) {
    acct.positions.splice(acct.positions.indexOf(pos), 1);
  } else if (!opened.isZero()) {
    // Opening (or flipping): the new units' cost, plus the commission when nothing was closed.
    const carried = realizedGross === undefined ? q0.abs().mul(pos.avgCost) : new Decimal(0);
    const fee = realizedGross === undefined ? e.commission : new Decimal(0);
    pos.avgCost = carried.add(opened.abs().mul(unitValue)).add(fee).div(q1.abs()).toDecimalPlaces(6);
  }
  pos.quantity = q1;
  const realized = realizedGross?.sub(e.commission);
  if (realized) acct.realized = acct.realized.add(realized);
  if (isFut) acct.cash = acct.cash.add(realizedGross ?? 0).sub(e.commission);
  else acct.cash = acct.cash.sub(signed.mul(unitValue)).sub(e.commission);
  return realized;
}
