/** Contract requests: reqContractDetails, and the one-instrument lookup every data request starts with. */
import { ERR } from "../errors.js";
import type { InstrumentSpec } from "../market/types.js";
import { toContractQuery, type ReqContractData, type WireContract } from "../messages/inbound.js";
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

/** The one instrument a data request names, or error 200 (none, or ambiguous). */
export function resolveContract(session: Session, reqId: number, c: WireContract): InstrumentSpec | undefined {
  const found = session.market.findContracts(toContractQuery(c));
  if (found.length !== 1) {
    session.error(reqId, ERR.NO_SECDEF);
    return undefined;
  }
  return found[0];
}
