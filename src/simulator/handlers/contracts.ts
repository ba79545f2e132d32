/** Contract requests: reqContractDetails, and the one-instrument lookup every data request starts with. */
import { ERR } from "../errors.js";
import type { InstrumentSpec } from "../market/types.js";
import { toContractQuery, type ReqContractData, type WireContract } from "../messages/inbound.js";
import { MIN_SV } from "../messages/ids.js";
import * as msg from "../messages/outbound.js";
import type { Session } from "../session.js";

/** Every match (an ambiguous query lists them all, as TWS does), then contractDataEnd; 200 when none. */
export function reqContractDetails(session: Session, req: ReqContractData): void {
  const found = session.market.findContracts(toContractQuery(req.contract));
  if (found.length === 0) {
    session.error(req.reqId, ERR.NO_SECDEF);
    return;
  }
  for (const c of found) session.send(msg.contractData(session.sv, req.reqId, c));
  session.send(msg.contractDataEnd(req.reqId));
}

/**
 * The one instrument a data request names, or error 200 (none, or ambiguous). A client below server
 * version 163 reads sizes as integers: data of an instrument traded in fractions (crypto) is refused
 * (10285), not sent with its sizes truncated (BTC trades of 0.0181 would show as 0).
 */
export function resolveContract(session: Session, reqId: number, c: WireContract): InstrumentSpec | undefined {
  const found = session.market.findContracts(toContractQuery(c));
  if (found.length !== 1) {
    session.error(reqId, ERR.NO_SECDEF);
    return undefined;
  }
  const inst = found[0] as InstrumentSpec;
  if (session.sv < MIN_SV.FRACTIONAL_SIZE_SUPPORT && !Number.isInteger(Number(inst.sizeIncrement))) {
    session.error(reqId, ERR.FRACTIONAL_SIZES_UNSUPPORTED);
    return undefined;
  }
  return inst;
}
