import { status } from "@grpc/grpc-js";
import type {
  CancelAllOrdersRequest,
  CancelAllOrdersResponse,
  CancelOrderRequest,
  CancelOrderResponse,
  EnableOrdersRequest,
  EnableOrdersResponse,
  GetOrderRequest,
  GetOrderResponse,
  GetTradingStatusResponse,
  ListExecutionsRequest,
  ListExecutionsResponse,
  ListOrdersRequest,
  ListOrdersResponse,
  ModifyOrderRequest,
  ModifyOrderResponse,
  PlaceOrderRequest,
  PlaceOrderResponse,
  PreviewOrderRequest,
  PreviewOrderResponse,
  StreamOrdersRequest,
  TradingStatus,
} from "../../../gen/ibprovider/v1/order_service.js";
import { dec, toWire, type Decimal } from "../../domain/decimal.js";
import type { MarketType } from "../../domain/marketType.js";
import type { InstrumentRef, OrderRequest } from "../../domain/orders/orderRequest.js";
import { checkOrderRequest } from "../../domain/orders/orderRequestProblems.js";
import { limitFor } from "../../domain/orders/orderRailSettings.js";
import type { ResolvedInstrument } from "../../ib/contracts/resolvedInstrument.js";
import type { GatewayStatus } from "../../ib/connection/gatewayStatus.js";
import type { OptionQuotes, OptionQuotesOptions } from "../../ib/ibAdapter.js";
import { OrderRefusedError, type OrderDesk, type OrderDeskEvent, type StoredOrder } from "../../ib/orders/orderDesk.js";
import type { Logger } from "../../log/logger.js";
import { maskAccountId } from "../../domain/accountMask.js";
import { ApiError, echo, invalidArgument, notFound } from "../apiError.js";
import type { CallContext } from "../callContext.js";
import { executionToProto, orderToProto, statusFromProto, tradingStatusToProto } from "../mapping/orders.js";
import { timestampToMs } from "../mapping/protoTime.js";
import { MODIFY_FIELDS, readModifyOrder, readNewOrder, refusalError } from "../requests/orderFields.js";
import { amendedRequestOf } from "../../ib/orders/orderModify.js";
import { encodeStream, type EncodedMessage } from "../streamEncoding.js";
import { orderRendering } from "../streamRenderings.js";
import { replayStartOf } from "../requests/replayFields.js";
import type { ConsumerOptions } from "../../stream/consumerOptions.js";
import type { FeedConsumer } from "../../stream/feedCursor.js";
import { DEFAULT_STREAM_SETTINGS, type StreamSettings } from "../../stream/streamSettings.js";

/** What the order service needs of the adapter besides its desk: the instrument, and a quote for a market order's notional. */
export interface OrderSource {
  readonly status: GatewayStatus;
  resolve(marketType: MarketType, symbol: string): Promise<ResolvedInstrument>;
  optionQuotes(marketType: MarketType, symbols: string[], options?: OptionQuotesOptions): Promise<OptionQuotes>;
  /** The account's order events: the shared feed of the desk's changes (src/ib/orders/orderFeed.ts). */
  streamOrders(account: string, options: ConsumerOptions<OrderDeskEvent>): FeedConsumer<OrderDeskEvent>;
}

const MAX_LIST = 1_000;
const DEFAULT_LIST = 100;
const DAY_MS = 86_400_000;

/**
 * OrderService over the adapter's order desk: requests read into the order domain, checked once
 * (checkOrderRequest), the rails and the idempotent claim in the desk, answers from the order store.
 */
export class OrderService {
  constructor(
    private readonly desk: OrderDesk,
    private readonly source: OrderSource,
    private readonly log: Logger,
    private readonly settings: StreamSettings = DEFAULT_STREAM_SETTINGS,
  ) {}

  async placeOrder(request: PlaceOrderRequest, ctx: CallContext): Promise<PlaceOrderResponse> {
    const order = await this.readOrder(request.order, "place");
    const referencePrice = await this.referencePrice(order, ctx);
    try {
      const placed = await this.desk.place(order, referencePrice);
      return { orders: placed.orders.map((o) => this.toProto(o)), alreadyPlaced: placed.alreadyPlaced };
    } catch (err) {
      if (err instanceof OrderRefusedError) {
        this.log.info({ audit: "refused", client: ctx.client, clientOrderId: order.clientOrderId.slice(0, 64), account: maskAccountId(order.account), reason: err.refusal.reason }, "order refused before IB");
        throw refusalError(err.refusal);
      }
      throw err;
    }
  }

  async previewOrder(request: PreviewOrderRequest): Promise<PreviewOrderResponse> {
    const order = await this.readOrder(request.order, "preview");
    const state = await refused(() => this.desk.preview(order));
    const figure = (n: number | undefined) => (n === undefined || !Number.isFinite(n) || n >= 1e300 ? "" : toWire(dec(String(n))));
    return {
      before: { initialMargin: figure(state.initMarginBefore), maintenanceMargin: figure(state.maintMarginBefore), equityWithLoanValue: figure(state.equityWithLoanBefore) },
      change: { initialMargin: figure(state.initMarginChange), maintenanceMargin: figure(state.maintMarginChange), equityWithLoanValue: figure(state.equityWithLoanChange) },
      after: { initialMargin: figure(state.initMarginAfter), maintenanceMargin: figure(state.maintMarginAfter), equityWithLoanValue: figure(state.equityWithLoanAfter) },
      currency: order.instrument.currency,
      commission: figure(state.commission),
      minCommission: figure(state.minCommission),
      maxCommission: figure(state.maxCommission),
      commissionCurrency: state.commissionCurrency ?? "",
      warningText: state.warningText ?? "",
      accountId: order.account,
    };
  }

  async modifyOrder(request: ModifyOrderRequest, ctx: CallContext): Promise<ModifyOrderResponse> {
    const account = this.account(request.accountId, "account_id");
    const { clientOrderId, change } = readModifyOrder(request);
    const current = this.desk.order(account, clientOrderId);
    if (current === undefined) throw this.unknownOrder(clientOrderId);
    const referencePrice = await this.referencePrice(amendedRequestOf(current, change), ctx);
    try {
      const order = await this.desk.modify(account, clientOrderId, change, referencePrice);
      if (order === undefined) throw this.unknownOrder(clientOrderId);
      return { order: this.toProto(order) };
    } catch (err) {
      if (!(err instanceof OrderRefusedError)) throw err;
      this.log.info({ audit: "refused", client: ctx.client, clientOrderId: clientOrderId.slice(0, 64), account: maskAccountId(account), reason: err.refusal.reason }, "order change refused before IB");
      throw refusalError(err.refusal, MODIFY_FIELDS);
    }
  }

  async cancelOrder(request: CancelOrderRequest, ctx: CallContext): Promise<CancelOrderResponse> {
    const account = this.account(request.accountId, "account_id");
    const order = await refused(async () => this.desk.cancel(account, request.clientOrderId));
    if (order === undefined) throw this.unknownOrder(request.clientOrderId);
    this.log.info({ audit: "cancel-requested", client: ctx.client, clientOrderId: order.clientOrderId }, "order cancel requested");
    return { order: this.toProto(order) };
  }

  async cancelAllOrders(request: CancelAllOrdersRequest, ctx: CallContext): Promise<CancelAllOrdersResponse> {
    const orders = this.desk.cancelAll(request.note.slice(0, 200), ctx.client);
    return { orders: orders.map((o) => this.toProto(o)), tradingStatus: this.tradingStatus() };
  }

  async enableOrders(request: EnableOrdersRequest, ctx: CallContext): Promise<EnableOrdersResponse> {
    this.desk.release(request.note.slice(0, 200), ctx.client);
    return { tradingStatus: this.tradingStatus() };
  }

  async getTradingStatus(): Promise<GetTradingStatusResponse> {
    return { tradingStatus: this.tradingStatus() };
  }

  async getOrder(request: GetOrderRequest): Promise<GetOrderResponse> {
    if (request.permId !== "0" && request.permId !== "") {
      const order = this.desk.orderByPermId(Number(request.permId));
      if (order === undefined || order.account !== this.account(request.accountId, "account_id")) throw notFound(`no order with perm_id ${echo(request.permId)}`, "ORDER_NOT_FOUND", { field: "perm_id" });
      return { order: this.toProto(order) };
    }
    if (request.clientOrderId === "") throw invalidArgument("client_order_id", "required (or perm_id)", "CLIENT_ORDER_ID_REQUIRED");
    const order = this.desk.order(this.account(request.accountId, "account_id"), request.clientOrderId);
    if (order === undefined) throw this.unknownOrder(request.clientOrderId);
    return { order: this.toProto(order) };
  }

  async listOrders(request: ListOrdersRequest): Promise<ListOrdersResponse> {
    const account = this.account(request.accountId, "account_id");
    const limit = this.limit(request.limit);
    const statuses = new Set(request.statuses.map((s) => statusFromProto(s) ?? invalidStatus(s)));
    const fromMs = request.from === undefined ? Date.now() - DAY_MS : timestampToMs(request.from);
    const toMs = request.to === undefined ? Number.POSITIVE_INFINITY : timestampToMs(request.to);
    const symbol = request.symbol.toUpperCase();
    const orders = this.desk.orders(account, request.openOnly ? { openOnly: true } : { sinceMs: fromMs, limit: MAX_LIST })
      .filter((o) => (statuses.size === 0 || statuses.has(o.status)) && o.updatedMs < toMs && (symbol === "" || o.request.instrument.symbol === symbol))
      .filter((o) => request.parentClientOrderId === "" || o.parentClientOrderId === request.parentClientOrderId)
      .slice(0, limit);
    return { orders: orders.map((o) => this.toProto(o)) };
  }

  async listExecutions(request: ListExecutionsRequest): Promise<ListExecutionsResponse> {
    const account = this.account(request.accountId, "account_id");
    const fromMs = request.from === undefined ? Date.now() - DAY_MS : timestampToMs(request.from);
    const toMs = request.to === undefined ? Number.POSITIVE_INFINITY : timestampToMs(request.to);
    const symbol = request.symbol.toUpperCase();
    const rows = this.desk
      .executions(account, { sinceMs: fromMs, limit: this.limit(request.limit), ...(request.clientOrderId === "" ? {} : { clientOrderId: request.clientOrderId }) })
      .filter((e) => e.execution.timeMs < toMs);
    const out = rows.map((e) => executionToProto(e, e.execution.clientOrderId === undefined ? undefined : this.desk.order(account, e.execution.clientOrderId)));
    return { executions: out.filter((e) => symbol === "" || e.symbol === symbol) };
  }

  /** The account's order events, live or from a time / after a sequence (the journal), as the market-data streams. */
  async *streamOrders(request: StreamOrdersRequest, ctx: CallContext): AsyncGenerator<EncodedMessage> {
    const account = this.account(request.accountId, "account_id");
    const start = replayStartOf(request, Date.now());
    const { maxQueued, heartbeatMs } = this.settings;
    // Orders change rarely: silence is not staleness (heartbeats say the stream is alive).
    const cursor = this.source.streamOrders(account, { signal: ctx.signal, maxQueued, heartbeatMs, staleAfterMs: 0, ...(start === undefined ? {} : { start }) });
    yield* encodeStream(cursor, orderRendering());
  }

  /** The request's order in domain terms, its instrument resolved at IB, its shape checked (once, by the domain). */
  private async readOrder(proto: PlaceOrderRequest["order"], purpose: "place" | "preview"): Promise<OrderRequest> {
    const fields = readNewOrder(proto, purpose);
    const account = this.account(proto!.accountId, "order.account_id");
    const resolved = await this.source.resolve(fields.marketType, fields.symbol);
    const instrument: InstrumentRef = { conId: resolved.conId, symbol: fields.symbol, secType: resolved.secType, exchange: resolved.exchange, currency: resolved.currency };
    if (resolved.multiplier !== "" && resolved.multiplier !== "1") instrument.multiplier = dec(resolved.multiplier);
    const order = fields.build(instrument, account);
    const verdict = checkOrderRequest(order);
    if (!verdict.ok) throw refusalError(verdict.refusal);
    return order;
  }

  /** A market or stop order's notional, when a notional limit applies: the far side of the quote now, else the last trade. */
  private async referencePrice(order: OrderRequest, ctx: CallContext): Promise<Decimal | undefined> {
    if (order.type !== "MKT" || limitFor(this.desk.rails.maxNotional, order.instrument.symbol) === undefined) return undefined;
    const marketType = order.instrument.secType === "FUT" || order.instrument.secType === "FOP" ? "futures" : "spot";
    const quotes = await this.source.optionQuotes(marketType, [order.instrument.symbol], { timeoutMs: 3_000, signal: ctx.signal, client: ctx.client });
    const l1 = quotes.quotes[0]?.level1;
    return (order.side === "BUY" ? l1?.ask : l1?.bid) ?? l1?.last;
  }

  /** The account a request names: empty = the login's active account; another must be that one (orders go to one account per login here). */
  private account(accountId: string, field: string): string {
    const active = this.desk.account;
    if (active === undefined) throw new ApiError(status.UNAVAILABLE, "the Gateway has not said which account it manages yet", "GATEWAY_UNAVAILABLE");
    if (accountId !== "" && accountId !== active) throw notFound(`${field}: account ${maskAccountId(accountId)} is not the account this service trades (${maskAccountId(active)})`, "ACCOUNT_NOT_MANAGED", { field });
    return active;
  }

  private limit(limit: number): number {
    if (limit > MAX_LIST) throw invalidArgument("limit", `at most ${MAX_LIST} (got ${limit})`, "LIMIT_OUT_OF_RANGE");
    return limit === 0 ? DEFAULT_LIST : limit;
  }

  private unknownOrder(clientOrderId: string): ApiError {
    return notFound(`no order with client_order_id ${echo(clientOrderId)} in this account`, "ORDER_NOT_FOUND", { field: "client_order_id" });
  }

  private toProto(order: StoredOrder) {
    return orderToProto(order, this.desk.commissionOf(order));
  }

  private tradingStatus(): TradingStatus {
    return tradingStatusToProto(this.desk.tradingState());
  }
}

/** A desk's refusal (OrderRefusedError) as the caller's error. */
async function refused<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof OrderRefusedError) throw refusalError(err.refusal);
    throw err;
  }
}

function invalidStatus(value: number): never {
  throw invalidArgument("statuses", `an OrderStatus value (got ${value})`, "INVALID_STATUS");
}
