/** Account requests: managed accounts, account summary and updates (single and multi), positions, PnL. */
import { ERR } from "../errors.js";
import { AccountSummaryFeed, AccountUpdatesFeed, AccountUpdatesMultiFeed, PnlFeed, PnlSingleFeed } from "../feeds/accountFeeds.js";
import type { ReqAccountSummary, ReqAccountUpdates, ReqAccountUpdatesMulti, ReqPnl, ReqPositionsMulti } from "../messages/inbound.js";
import * as msg from "../messages/outbound.js";
import type { Session } from "../session.js";

export function reqManagedAccts(session: Session): void {
  session.send(msg.managedAccounts(session.gateway.accounts.ids()));
}

export function reqAccountSummary(session: Session, req: ReqAccountSummary): void {
  const { reqId } = req;
  if (session.duplicate(reqId)) return;
  const { options, accounts } = session.gateway;
  let active = 0;
  for (const s of session.subs.values()) if (s.kind === "accountSummary") active++;
  if (active >= options.limits.maxAccountSummary) {
    session.error(reqId, ERR.PROCESSING, `-'bF' : cause - Maximum number of account summary requests exceeded`);
    return;
  }
  const feed = new AccountSummaryFeed(session, reqId, accounts, req.group, req.tags, options.accountRefreshMs);
  session.add(feed);
  feed.start(session.now());
}

export function cancelAccountSummary(session: Session, reqId: number): void {
  session.cancel(reqId, "accountSummary");
}

/** reqAccountUpdates: one stream per connection, for the named account or the first managed one. */
export function reqAccountUpdates(session: Session, req: ReqAccountUpdates): void {
  if (!req.subscribe) {
    session.accountUpdates = undefined;
    return;
  }
  const { options, accounts } = session.gateway;
  const acct = req.account;
  const ids = accounts.ids();
  const account = acct && ids.includes(acct) ? acct : ids[0];
  if (!account || (acct && !ids.includes(acct))) {
    session.error(-1, ERR.VALIDATION, `-'bB' : cause - Account ${acct} is not managed by this login`);
    return;
  }
  session.accountUpdates = new AccountUpdatesFeed(session, account, accounts, options.accountRefreshMs);
  session.accountUpdates.start(session.now());
}

/** reqPositions: every position, then positionEnd; afterwards each change until cancelPositions (fills move them). */
export function reqPositions(session: Session): void {
  session.positionsSubscribed = true;
  for (const a of session.gateway.accounts.accounts) {
    for (const p of a.positions) session.send(msg.position(session.sv, a.id, p.instrument, p.quantity.toFixed(), p.avgCost.toFixed()));
  }
  session.send(msg.positionEnd());
}

export function cancelPositions(session: Session): void {
  session.positionsSubscribed = false;
}

/** "" and "ALL" name every account (the multi requests' convention); 321 for an account not managed here. */
function knownAccountOrAll(session: Session, reqId: number, account: string): boolean {
  if (account === "" || account.toUpperCase() === "ALL" || session.gateway.accounts.ids().includes(account)) return true;
  session.error(reqId, ERR.VALIDATION, `-'bB' : cause - Account ${account} is not managed by this login`);
  return false;
}

export function reqPositionsMulti(session: Session, req: ReqPositionsMulti): void {
  const { reqId, account, modelCode } = req;
  if (!knownAccountOrAll(session, reqId, account)) return;
  for (const a of session.gateway.accounts.accounts) {
    if (account && account.toUpperCase() !== "ALL" && a.id !== account) continue;
    for (const p of a.positions) {
      session.send(msg.positionMulti(session.sv, reqId, a.id, p.instrument, p.quantity.toFixed(), p.avgCost.toFixed(), modelCode));
    }
  }
  session.send(msg.positionMultiEnd(reqId));
}

export function reqAccountUpdatesMulti(session: Session, req: ReqAccountUpdatesMulti): void {
  const { reqId } = req;
  if (session.duplicate(reqId)) return;
  if (!knownAccountOrAll(session, reqId, req.account)) return;
  const { options, accounts } = session.gateway;
  const feed = new AccountUpdatesMultiFeed(session, reqId, accounts, req.account, req.modelCode, req.ledgerAndNLV, options.accountRefreshMs);
  session.add(feed);
  feed.start(session.now());
}

export function cancelAccountUpdatesMulti(session: Session, reqId: number): void {
  session.cancel(reqId, "accountMulti");
}

/** reqPnL (conId undefined) and reqPnLSingle: the first update at once, then every pnlIntervalMs. */
export function reqPnl(session: Session, req: ReqPnl): void {
  const { reqId, account, conId } = req;
  if (session.duplicate(reqId)) return;
  const { options, accounts } = session.gateway;
  if (!accounts.ids().includes(account)) {
    session.error(reqId, ERR.VALIDATION, `-'bB' : cause - Account ${account} is not managed by this login`);
    return;
  }
  const feed =
    conId === undefined
      ? new PnlFeed(session, reqId, accounts, account, options.pnlIntervalMs)
      : new PnlSingleFeed(session, reqId, accounts, account, conId, options.pnlIntervalMs);
  session.add(feed);
  feed.pump(session.now());
}

export function cancelPnl(session: Session, reqId: number): void {
  session.cancel(reqId, "pnl");
}

export function cancelPnlSingle(session: Session, reqId: number): void {
  session.cancel(reqId, "pnlSingle");
}
