/** The order tests' kit: OrderService calls with a bearer token, a NewOrder with defaults, a refusal's parts. */
import { Metadata, type CallOptions, type ServiceError } from "@grpc/grpc-js";
import { OrderSide, OrderType, TimeInForce, type NewOrder, type OrderServiceClient } from "../../../../gen/ibprovider/v1/order_service.js";
import { readRichStatus } from "../../statusDetails.js";

export function bearer(token: string): Metadata {
  const m = new Metadata();
  m.set("authorization", `Bearer ${token}`);
  return m;
}

// The generated methods' last overload (request, metadata, options, callback): the one TypeScript infers from.
type Unary<Req, Res> = (request: Req, metadata: Metadata, options: Partial<CallOptions>, callback: (err: ServiceError | null, res: Res) => void) => unknown;

/** `call(client.placeOrder, client, request)`: a unary OrderService call with a token (`defaultToken` unless given), as a promise (10 s deadline). */
export function orderCall(defaultToken: string) {
  return <Req, Res>(method: Unary<Req, Res>, client: OrderServiceClient, request: Req, token = defaultToken): Promise<Res> =>
    new Promise((resolve, reject) => method.call(client, request, bearer(token), { deadline: Date.now() + 10_000 }, (err, res) => (err ? reject(err) : resolve(res))));
}

/** A call that must be refused: its code, ErrorInfo reason and field, and message. */
export async function refusal(promise: Promise<unknown>): Promise<{ code: number; reason: string | undefined; field: string | undefined; message: string }> {
  const err = (await promise.then(
    () => undefined,
    (e: ServiceError) => e,
  )) as ServiceError | undefined;
  if (err === undefined) throw new Error("expected a refusal, the call succeeded");
  const info = readRichStatus(err)?.errorInfo;
  return { code: err.code, reason: info?.reason, field: info?.metadata.field, message: err.details };
}

/** A NewOrder: a GTC limit BUY on the spot market unless `over` says otherwise. */
export function newOrder(over: Partial<NewOrder> & Pick<NewOrder, "symbol">): NewOrder {
  return {
    clientOrderId: "",
    connectorType: "ib",
    marketType: "spot",
    accountId: "",
    side: OrderSide.ORDER_SIDE_BUY,
    orderType: OrderType.ORDER_TYPE_LIMIT,
    quantity: "1",
    limitPrice: "",
    stopPrice: "",
    timeInForce: TimeInForce.TIME_IN_FORCE_GTC,
    outsideRth: false,
    ...over,
  };
}
