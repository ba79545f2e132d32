/**
 * Inbound message id → decoder → handler. Decoders (messages/inbound) read the fields for the negotiated
 * server version; handlers (./handlers, one module per area) answer. An id missing here is answered 321.
 */
import * as account from "./handlers/account.js";
import { reqContractDetails, reqMatchingSymbols, reqSecDefOptParams } from "./handlers/contracts.js";
import * as history from "./handlers/history.js";
import * as marketData from "./handlers/marketData.js";
import * as orders from "./handlers/orders.js";
import { reqCurrentTime, reqUserInfo } from "./handlers/serverInfo.js";
import { OUT } from "./messages/ids.js";
import {
  decodeNothing,
  decodeReqAccountSummary,
  decodeReqAccountUpdates,
  decodeReqAccountUpdatesMulti,
  decodeReqContractData,
  decodeReqMatchingSymbols,
  decodeReqSecDefOptParams,
  decodeReqHeadTimestamp,
  decodeReqHistoricalData,
  decodeReqHistoricalTicks,
  decodeReqId,
  decodeReqMarketDataType,
  decodeReqMktData,
  decodeReqMktDepth,
  decodeReqPnl,
  decodeReqPnlSingle,
  decodeReqPositionsMulti,
  decodeReqRealTimeBars,
  decodeReqTickByTick,
  decodeVersionedReqId,
  type FieldReader,
} from "./messages/inbound.js";
import { decodeCancelOrder, decodePlaceOrder, decodeReqExecutions } from "./messages/inboundOrders.js";
import type { Session } from "./session.js";

/** Decodes one request's fields and answers it. */
export type RequestHandler = (session: Session, fields: FieldReader) => void;

function route<T>(decode: (sv: number, r: FieldReader) => T, handle: (session: Session, req: T) => void): RequestHandler {
  return (session, fields) => handle(session, decode(session.sv, fields));
}

/** Accepted without an answer, as TWS does (a repeated START_API, cancels of one-shot or refused requests). */
const ignored: RequestHandler = () => {};

export const requestTable: ReadonlyMap<number, RequestHandler> = new Map<number, RequestHandler>([
  [OUT.START_API, ignored],
  [OUT.REQ_CURRENT_TIME, route(decodeNothing, reqCurrentTime)],
  [OUT.REQ_USER_INFO, route(decodeReqId, reqUserInfo)],

  [OUT.REQ_CONTRACT_DATA, route(decodeReqContractData, reqContractDetails)],
  [OUT.REQ_SEC_DEF_OPT_PARAMS, route(decodeReqSecDefOptParams, reqSecDefOptParams)],
  [OUT.REQ_MATCHING_SYMBOLS, route(decodeReqMatchingSymbols, reqMatchingSymbols)],

  [OUT.REQ_MARKET_DATA_TYPE, route(decodeReqMarketDataType, marketData.reqMarketDataType)],
  [OUT.REQ_MKT_DATA, route(decodeReqMktData, marketData.reqMktData)],
  [OUT.CANCEL_MKT_DATA, route(decodeVersionedReqId, marketData.cancelMktData)],
  [OUT.REQ_MKT_DEPTH, route(decodeReqMktDepth, marketData.reqMktDepth)],
  [OUT.CANCEL_MKT_DEPTH, route(decodeVersionedReqId, marketData.cancelMktDepth)],
  [OUT.REQ_TICK_BY_TICK_DATA, route(decodeReqTickByTick, marketData.reqTickByTickData)],
  [OUT.CANCEL_TICK_BY_TICK_DATA, route(decodeReqId, marketData.cancelTickByTickData)],

  [OUT.REQ_HISTORICAL_DATA, route(decodeReqHistoricalData, history.reqHistoricalData)],
  [OUT.CANCEL_HISTORICAL_DATA, route(decodeVersionedReqId, history.cancelHistoricalData)],
  [OUT.REQ_HISTORICAL_TICKS, route(decodeReqHistoricalTicks, history.reqHistoricalTicks)],
  [OUT.REQ_HEAD_TIMESTAMP, route(decodeReqHeadTimestamp, history.reqHeadTimestamp)],
  [OUT.CANCEL_HEAD_TIMESTAMP, ignored],
  [OUT.REQ_REAL_TIME_BARS, route(decodeReqRealTimeBars, history.reqRealTimeBars)],
  [OUT.CANCEL_REAL_TIME_BARS, route(decodeVersionedReqId, history.cancelRealTimeBars)],

  [OUT.REQ_MANAGED_ACCTS, route(decodeNothing, account.reqManagedAccts)],
  [OUT.REQ_ACCOUNT_SUMMARY, route(decodeReqAccountSummary, account.reqAccountSummary)],
  [OUT.CANCEL_ACCOUNT_SUMMARY, route(decodeVersionedReqId, account.cancelAccountSummary)],
  [OUT.REQ_ACCOUNT_DATA, route(decodeReqAccountUpdates, account.reqAccountUpdates)],
  [OUT.REQ_POSITIONS, route(decodeNothing, account.reqPositions)],
  [OUT.CANCEL_POSITIONS, route(decodeNothing, account.cancelPositions)],
  [OUT.REQ_POSITIONS_MULTI, route(decodeReqPositionsMulti, account.reqPositionsMulti)],
  [OUT.CANCEL_POSITIONS_MULTI, ignored],
  [OUT.REQ_ACCOUNT_UPDATES_MULTI, route(decodeReqAccountUpdatesMulti, account.reqAccountUpdatesMulti)],
  [OUT.CANCEL_ACCOUNT_UPDATES_MULTI, route(decodeVersionedReqId, account.cancelAccountUpdatesMulti)],
  [OUT.REQ_PNL, route(decodeReqPnl, account.reqPnl)],
  [OUT.CANCEL_PNL, route(decodeReqId, account.cancelPnl)],
  [OUT.REQ_PNL_SINGLE, route(decodeReqPnlSingle, account.reqPnl)],
  [OUT.CANCEL_PNL_SINGLE, route(decodeReqId, account.cancelPnlSingle)],

  [OUT.REQ_IDS, route(decodeNothing, orders.reqIds)],
  [OUT.PLACE_ORDER, route(decodePlaceOrder, orders.placeOrder)],
  [OUT.CANCEL_ORDER, route(decodeCancelOrder, orders.cancelOrder)],
  [OUT.REQ_OPEN_ORDERS, route(decodeNothing, orders.reqOpenOrders)],
  [OUT.REQ_ALL_OPEN_ORDERS, route(decodeNothing, orders.reqAllOpenOrders)],
  // Binds TWS's manual orders to client 0: the simulator has none, so there is nothing to answer.
  [OUT.REQ_AUTO_OPEN_ORDERS, ignored],
  [OUT.REQ_GLOBAL_CANCEL, route(decodeNothing, orders.reqGlobalCancel)],
  [OUT.REQ_EXECUTIONS, route(decodeReqExecutions, orders.reqExecutions)],
  [OUT.REQ_COMPLETED_ORDERS, route(decodeNothing, orders.reqCompletedOrders)],
]);
