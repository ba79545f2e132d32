/**
 * Decoders of the order requests: PLACE_ORDER (OUT 3), CANCEL_ORDER (4), REQ_GLOBAL_CANCEL (58),
 * REQ_EXECUTIONS (7) with its filter, REQ_COMPLETED_ORDERS (99), REQ_AUTO_OPEN_ORDERS (15), REQ_IDS (8).
 * placeOrder's layout is @stoqey/ib 1.6.10's encoder.js `placeOrder` (the official clients' order), read
 * field by field for the negotiated version; the simulator trades only from server version 145
 * (ORDER_CONTAINER: no leading version field), and reads every field through 176 so that nothing is
 * taken for something else. Unset doubles arrive as "" (nullifyMax) or Double.MAX_VALUE: both are unset.
 */
import { UNSET_DOUBLE } from "../wire/fields.js";
import { FieldReader, readContract12, type WireContract } from "./inbound.js";
import { MIN_SV } from "./ids.js";

/** Server-version gates of placeOrder's tail (@stoqey/ib min-server-version.js). */
const SV = {
  PEGGED_TO_BENCHMARK: 102,
  MODELS_SUPPORT: 103,
  EXT_OPERATOR: 105,
  SOFT_DOLLAR_TIER: 106,
  CASH_QTY: 111,
  DECISION_MAKER: 138,
  MIFID_EXECUTION: 139,
  AUTO_PRICE_FOR_HEDGE: 141,
  ORDER_CONTAINER: 145,
  D_PEG_ORDERS: 148,
  PRICE_MGMT_ALGO: 151,
  DURATION: 158,
  POST_TO_ATS: 160,
  AUTO_CANCEL_PARENT: 162,
  ADVANCED_ORDER_REJECT: 166,
  MANUAL_ORDER_TIME: 169,
  PEGBEST_PEGMID_OFFSETS: 170,
  FA_PROFILE_DESUPPORT: 177,
} as const;

/** A double field: "" and Double.MAX_VALUE (either spelling) are unset. */
export function optDouble(s: string): string | undefined {
  if (s === "") return undefined;
  const n = Number(s);
  if (!Number.isFinite(n) || n >= Number.MAX_VALUE || s === UNSET_DOUBLE) return undefined;
  return s;
}

export interface PlaceOrderRequest {
  orderId: number;
  contract: WireContract;
  action: string;
  /** Decimal text ("100", "0.5"). */
  totalQuantity: string;
  orderType: string;
  lmtPrice: string | undefined;
  auxPrice: string | undefined;
  tif: string;
  ocaGroup: string;
  account: string;
  orderRef: string;
  transmit: boolean;
  parentId: number;
  outsideRth: boolean;
  ocaType: number;
  whatIf: boolean;
  /** Fields read but not the simulator's business (algo, conditions, ...): kept for the log. */
  algoStrategy: string;
  conditionCount: number;
}

/** Reads one order condition (type, conjunction, then the type's fields). */
function skipCondition(r: FieldReader): void {
  const type = r.int();
  r.str(); // conjunction
  switch (type) {
    case 1: // Price: isMore, value, conId, exchange, triggerMethod
      skip(r, 5);
      break;
    case 3: // Time: isMore, value
    case 4: // Margin: isMore, value
      skip(r, 2);
      break;
    case 5: // Execution: secType, exchange, symbol
      skip(r, 3);
      break;
    case 6: // Volume: isMore, value, conId, exchange
    case 7: // PercentChange: isMore, value, conId, exchange
      skip(r, 4);
      break;
    default:
      break;
  }
}

function skip(r: FieldReader, n: number): void {
  for (let i = 0; i < n; i++) r.str();
}

/**
 * OUT 3 at sv ≥ 145. Every field in @stoqey/ib's order; the comments name the skipped ones. Below 145 the
 * message starts with a version field and the simulator does not trade (handlers/orders answers 201).
 */
export function decodePlaceOrder(sv: number, r: FieldReader): PlaceOrderRequest {
  if (sv < SV.ORDER_CONTAINER) r.int(); // version
  const orderId = r.int();
  const contract = readContract12(r);
  skip(r, 2); // secIdType, secId
  const action = r.str().toUpperCase();
  const totalQuantity = r.str().replaceAll(",", "");
  const orderType = r.str().toUpperCase();
  const lmtPrice = optDouble(r.str());
  const auxPrice = optDouble(r.str());
  const tif = r.str().toUpperCase();
  const ocaGroup = r.str();
  const account = r.str();
  skip(r, 2); // openClose, origin
  const orderRef = r.str();
  const transmitText = r.str();
  const transmit = transmitText === "" ? true : transmitText === "1" || transmitText.toLowerCase() === "true";
  const parentId = r.int();
  skip(r, 4); // blockOrder, sweepToFill, displaySize, triggerMethod
  const outsideRth = r.bool();
  r.str(); // hidden
  const isBag = contract.secType.toUpperCase() === "BAG";
  if (isBag) {
    const legs = r.int();
    for (let i = 0; i < legs; i++) skip(r, 8); // conId, ratio, action, exchange, openClose, shortSaleSlot, designatedLocation, exemptCode
    skip(r, r.int()); // order combo legs: price each
    skip(r, r.int() * 2); // smart combo routing params: tag, value
  }
  r.str(); // deprecated sharesAllocation
  skip(r, 3); // discretionaryAmt, goodAfterTime, goodTillDate
  skip(r, 3); // faGroup, faMethod, faPercentage
  if (sv < SV.FA_PROFILE_DESUPPORT) r.str(); // faProfile
  if (sv >= SV.MODELS_SUPPORT) r.str(); // modelCode
  skip(r, 3); // shortSaleSlot, designatedLocation, exemptCode
  const ocaType = r.int();
  // rule80A, settlingFirm, allOrNone, minQty, percentOffset, eTradeOnly, firmQuoteOnly, nbboPriceCap,
  // auctionStrategy, startingPrice, stockRefPrice, delta, stockRangeLower, stockRangeUpper
  skip(r, 14);
  r.str(); // overridePercentageConstraints
  skip(r, 2); // volatility, volatilityType
  const deltaNeutralOrderType = r.str();
  r.str(); // deltaNeutralAuxPrice
  if (deltaNeutralOrderType !== "") skip(r, 8); // conId, settlingFirm, clearingAccount, clearingIntent, openClose, shortSale, shortSaleSlot, designatedLocation
  skip(r, 2); // continuousUpdate, referencePriceType
  skip(r, 2); // trailStopPrice, trailingPercent
  skip(r, 2); // scaleInitLevelSize, scaleSubsLevelSize
  // @stoqey/ib sends the scale tail whenever the order has a scalePriceIncrement (then the field is not "").
  if (r.str() !== "") skip(r, 7);
  skip(r, 3); // scaleTable, activeStartTime, activeStopTime
  const hedgeType = r.str();
  if (hedgeType !== "") r.str(); // hedgeParam
  r.str(); // optOutSmartRouting
  skip(r, 2); // clearingAccount, clearingIntent
  r.str(); // notHeld
  if (r.bool()) skip(r, 3); // delta-neutral contract: conId, delta, price
  const algoStrategy = r.str();
  if (algoStrategy !== "") skip(r, r.int() * 2); // algo params: tag, value
  r.str(); // algoId
  const whatIf = r.bool();
  skip(r, 2); // orderMiscOptions, solicited
  skip(r, 2); // randomizeSize, randomizePrice
  let conditionCount = 0;
  if (sv >= SV.PEGGED_TO_BENCHMARK) {
    if (orderType === "PEG BENCH" || orderType === "PEGBENCH") skip(r, 5);
    conditionCount = r.int();
    if (conditionCount > 0) {
      for (let i = 0; i < conditionCount; i++) skipCondition(r);
      skip(r, 2); // conditionsIgnoreRth, conditionsCancelOrder
    }
    // adjustedOrderType, triggerPrice, lmtPriceOffset, adjustedStopPrice, adjustedStopLimitPrice,
    // adjustedTrailingAmount, adjustableTrailingUnit
    skip(r, 7);
  }
  if (sv >= SV.EXT_OPERATOR) r.str(); // extOperator
  if (sv >= SV.SOFT_DOLLAR_TIER) skip(r, 2); // softDollarTier name, value
  if (sv >= SV.CASH_QTY) r.str(); // cashQty
  if (sv >= SV.DECISION_MAKER) skip(r, 2); // mifid2DecisionMaker, mifid2DecisionAlgo
  if (sv >= SV.MIFID_EXECUTION) skip(r, 2); // mifid2ExecutionTrader, mifid2ExecutionAlgo
  if (sv >= SV.AUTO_PRICE_FOR_HEDGE) r.str(); // dontUseAutoPriceForHedge
  if (sv >= SV.ORDER_CONTAINER) r.str(); // isOmsContainer
  if (sv >= SV.D_PEG_ORDERS) r.str(); // discretionaryUpToLimitPrice
  if (sv >= SV.PRICE_MGMT_ALGO) r.str(); // usePriceMgmtAlgo
  if (sv >= SV.DURATION) r.str(); // duration
  if (sv >= SV.POST_TO_ATS) r.str(); // postToAts
  if (sv >= SV.AUTO_CANCEL_PARENT) r.str(); // autoCancelParent
  if (sv >= SV.ADVANCED_ORDER_REJECT) r.str(); // advancedErrorOverride
  if (sv >= SV.MANUAL_ORDER_TIME) r.str(); // manualOrderTime
  if (sv >= SV.PEGBEST_PEGMID_OFFSETS) {
    if (contract.exchange === "IBKRATS") r.str(); // minTradeQty
    if (orderType === "PEG BEST" || orderType === "PEGBEST") {
      r.str(); // minCompeteSize
      const offset = r.str(); // competeAgainstBestOffset (Infinity = up to mid: the mid offsets follow)
      if (offset === "Infinity") skip(r, 2);
    } else if (orderType === "PEG MID" || orderType === "PEGMID") {
      skip(r, 2); // midOffsetAtWhole, midOffsetAtHalf
    }
  }
  return {
    orderId,
    contract,
    action,
    totalQuantity,
    orderType,
    lmtPrice,
    auxPrice,
    tif,
    ocaGroup,
    account,
    orderRef,
    transmit,
    parentId,
    outsideRth,
    ocaType,
    whatIf,
    algoStrategy,
    conditionCount,
  };
}

/** OUT 4: [version below 192], orderId, [manualOrderCancelTime from 169]. */
export function decodeCancelOrder(sv: number, r: FieldReader): number {
  r.int(); // version (present below CME_TAGGING_FIELDS = 192, i.e. at every version this simulator speaks)
  const orderId = r.int();
  if (sv >= SV.MANUAL_ORDER_TIME) r.str(); // manualOrderCancelTime
  return orderId;
}

/** reqExecutions' filter: empty fields and clientId 0 match everything. */
export interface ExecutionFilter {
  clientId: number;
  acctCode: string;
  /** "yyyyMMdd-HH:mm:ss" (UTC) or "yyyyMMdd HH:mm:ss[ TZ]": executions at or after it. */
  time: string;
  symbol: string;
  secType: string;
  exchange: string;
  side: string;
}

export interface ReqExecutions {
  reqId: number;
  filter: ExecutionFilter;
}

/** OUT 7: version 3, reqId, clientId, acctCode, time, symbol, secType, exchange, side. */
export function decodeReqExecutions(_sv: number, r: FieldReader): ReqExecutions {
  r.int(); // version
  const reqId = r.int();
  const filter: ExecutionFilter = {
    clientId: r.int(),
    acctCode: r.str(),
    time: r.str(),
    symbol: r.str(),
    secType: r.str(),
    exchange: r.str(),
    side: r.str(),
  };
  return { reqId, filter };
}

/** OUT 99: apiOnly. */
export function decodeReqCompletedOrders(_sv: number, r: FieldReader): boolean {
  return r.bool();
}

/** OUT 15: version, autoBind. */
export function decodeReqAutoOpenOrders(_sv: number, r: FieldReader): boolean {
  r.int();
  return r.bool();
}

/** The server version from which this simulator accepts orders (no version field in placeOrder/openOrder). */
export const MIN_SV_ORDERS = MIN_SV.ORDER_CONTAINER;
