#!/usr/bin/python3
"""A bracket on the simulator's paper account: a market BUY with a take-profit and a stop-loss, its fills, then the legs cancelled.

    npx buf generate --template buf.gen.python.yaml       # once: writes clients/python/
    ORDERS_ENABLED=true PROVIDER_TRADE_TOKEN=trade-secret npm start
    PROVIDER_TRADE_TOKEN=trade-secret /usr/bin/python3 examples/python/bracket_order.py BTCUSDT --quantity 0.01

Arguments: symbol (default BTCUSDT), --quantity (default 0.01), --id: the bracket's client order id (default:
a new one per run; run again with the same id and nothing is sent twice: the service answers the orders
already placed).
Environment: IB_PROVIDER_ADDR (default 127.0.0.1:50051), PROVIDER_TRADE_TOKEN (placing and cancelling need
the `trade` scope; PROVIDER_API_TOKEN is used when it is unset, e.g. a named client's token with `trade`).

How (docs/orders.md): the take-profit is a limit 20% above the best ask and the stop-loss a stop 20% below the
best bid, both on the instrument's tick size (IB rejects other prices with code 110); one PlaceOrder sends
all three, the legs working only once the parent fills. The example opens StreamOrders before it places
anything and follows the orders and fills it streams (an execution comes again with its commission, IB's
commission report arriving a moment after the fill), so it waits on events, not by polling. It cancels the
legs before it exits, also when it fails half-way, so it leaves no order working.
"""
import argparse
import os
import sys
import time
import uuid
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path

# The generated stubs: PYTHONPATH wins; otherwise the repository's clients/python.
sys.path.append(str(Path(__file__).resolve().parents[2] / "clients" / "python"))

import grpc  # noqa: E402

try:
    from ibprovider.v1 import market_data_service_pb2 as md
    from ibprovider.v1 import market_data_service_pb2_grpc as md_grpc
    from ibprovider.v1 import order_service_pb2 as orders
    from ibprovider.v1 import order_service_pb2_grpc as orders_grpc
    from ibprovider.v1 import symbol_service_pb2 as sym
    from ibprovider.v1 import symbol_service_pb2_grpc as sym_grpc
except ImportError:
    sys.exit("ibprovider stubs not found: run `npx buf generate --template buf.gen.python.yaml` first")

# Final statuses (order_service.proto): nothing more happens to the order.
FINAL = {orders.ORDER_STATUS_FILLED, orders.ORDER_STATUS_CANCELLED, orders.ORDER_STATUS_API_CANCELLED, orders.ORDER_STATUS_INACTIVE}
TIMEOUT_S = 30.0
# PlaceOrder's answers that place nothing (a refusal); any other failure may come after the order was sent.
REFUSED = (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.RESOURCE_EXHAUSTED)


def status_name(order: orders.Order) -> str:
    return orders.OrderStatus.Name(order.status).removeprefix("ORDER_STATUS_")


def on_tick(price: Decimal, tick: Decimal, rounding: str) -> Decimal:
    """`price` as a multiple of the tick size, rounded away from the market."""
    return (price / tick).to_integral_value(rounding) * tick


class Watch:
    """The account's order events (StreamOrders), opened before anything is placed: the orders and fills as they change."""

    def __init__(self, stub, metadata) -> None:
        # The deadline is a backstop for the whole run (up to seven waits of TIMEOUT_S each, `until`), not one
        # wait's bound: each wait checks its own deadline at every message, heartbeats included (every 5 s).
        self.call = stub.StreamOrders(orders.StreamOrdersRequest(), metadata=metadata, timeout=TIMEOUT_S * 8)
        self.events = iter(self.call)
        self.orders: dict[str, orders.Order] = {}
        self.executions: dict[str, orders.Execution] = {}
        self.trading_status: orders.TradingStatus | None = None

    def note(self, order: orders.Order) -> None:
        self.orders[order.client_order_id] = order

    def until(self, done, what: str) -> None:
        """Reads events until `done()` holds, for at most TIMEOUT_S (and one heartbeat's interval)."""
        deadline = time.monotonic() + TIMEOUT_S
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what}: not within {TIMEOUT_S:.0f} s")
            # A stream that failed raises its grpc.RpcError here; one that ended (the service stopping) has no next.
            response = next(self.events, None)
            if response is None:
                raise ConnectionError(f"{what}: StreamOrders ended ({self.call.code().name}: {self.call.details()})")
            for event in response.events:
                kind = event.WhichOneof("event")
                if kind == "order":
                    self.note(event.order)
                elif kind == "execution":
                    # Sent again, same exec_id, when its commission arrives: the latest wins.
                    self.executions[event.execution.exec_id] = event.execution
                elif kind == "trading_status":
                    self.trading_status = event.trading_status

    def fills(self, client_order_id: str) -> list[orders.Execution]:
        return sorted((e for e in self.executions.values() if e.client_order_id == client_order_id), key=lambda e: (e.time.seconds, e.time.nanos, e.exec_id))

    def close(self) -> None:
        self.call.cancel()


class Trader:
    def __init__(self, channel: grpc.Channel, metadata) -> None:
        self.orders = orders_grpc.OrderServiceStub(channel)
        self.market = md_grpc.MarketDataServiceStub(channel)
        self.symbols = sym_grpc.SymbolServiceStub(channel)
        self.metadata = metadata

    def get(self, client_order_id: str) -> orders.Order:
        return self.orders.GetOrder(orders.GetOrderRequest(client_order_id=client_order_id), metadata=self.metadata, timeout=10).order

    def cancel(self, client_order_id: str, watch: Watch) -> orders.Order:
        try:
            self.orders.CancelOrder(orders.CancelOrderRequest(client_order_id=client_order_id), metadata=self.metadata, timeout=10)
        except grpc.RpcError as err:
            # Filled meanwhile (ORDER_NOT_OPEN): nothing left to cancel; it is reported as it is.
            if err.code() != grpc.StatusCode.FAILED_PRECONDITION:
                raise
        watch.note(self.get(client_order_id))
        try:
            watch.until(lambda: watch.orders[client_order_id].status in FINAL, f"{client_order_id} final")
            return watch.orders[client_order_id]
        except (grpc.RpcError, ConnectionError, TimeoutError):
            # The stream is gone (its deadline, the service restarting) or the order is not final yet: the
            # cleanup goes on to the next order (it must leave nothing working), reporting the order as it is.
            return self.get(client_order_id)


def bracket(trader: Trader, symbol: str, quantity: str, parent_id: str) -> int:
    status = trader.orders.GetTradingStatus(orders.GetTradingStatusRequest(), metadata=trader.metadata, timeout=10).trading_status
    if not status.orders_enabled:
        for block in status.blocks:
            print(f"orders refused: {block.reason}: {block.message}", file=sys.stderr)
        return 1
    print(f"account {status.account_id} ({'paper' if status.is_paper else 'LIVE'}), orders enabled")

    info = trader.symbols.GetSymbol(sym.GetSymbolRequest(connector_type="ib", market_type="spot", symbol=symbol), metadata=trader.metadata, timeout=10).symbol
    tick = Decimal(info.tick_size or "0.01")
    book = trader.market.GetOrderBook(md.GetOrderBookRequest(connector_type="ib", market_type="spot", symbol=symbol, depth=1), metadata=trader.metadata, timeout=10).order_book
    bid, ask = Decimal(book.bids[0].price), Decimal(book.asks[0].price)
    take_profit = on_tick(ask * Decimal("1.2"), tick, ROUND_CEILING)
    stop_loss = on_tick(bid * Decimal("0.8"), tick, ROUND_FLOOR)
    print(f"{symbol} bid {bid} ask {ask} (tick {tick}): BUY {quantity} at market, take-profit {take_profit}, stop-loss {stop_loss}")

    legs = [f"{parent_id}.tp", f"{parent_id}.sl"]
    order = orders.NewOrder(
        client_order_id=parent_id, connector_type="ib", market_type="spot", symbol=symbol,
        side=orders.ORDER_SIDE_BUY, order_type=orders.ORDER_TYPE_MARKET, quantity=quantity,
        time_in_force=orders.TIME_IN_FORCE_GTC,
        take_profit=orders.TakeProfit(client_order_id=legs[0], limit_price=str(take_profit)),
        stop_loss=orders.StopLoss(client_order_id=legs[1], stop_price=str(stop_loss)),
    )
    watch = Watch(trader.orders, trader.metadata)
    # The stream's first events are the open orders and the trading status as they are now: it is live from here.
    watch.until(lambda: watch.trading_status is not None, "StreamOrders subscribed")
    # Whether the orders of parent_id may be ours to cancel: not after a refusal (nothing placed; under
    # ALREADY_EXISTS the id is another order's).
    ours = True
    try:
        # Inside the try: a PlaceOrder that fails after the service sent the order (its deadline, the connection
        # lost) may still have placed it, and the cleanup below must cancel it.
        try:
            placed = trader.orders.PlaceOrder(orders.PlaceOrderRequest(order=order), metadata=trader.metadata, timeout=30)
        except grpc.RpcError as err:
            ours = err.code() not in REFUSED
            raise
        if placed.already_placed:
            print(f"{parent_id} was placed before: nothing sent again")
            for e in trader.orders.ListExecutions(orders.ListExecutionsRequest(client_order_id=parent_id), metadata=trader.metadata, timeout=10).executions:
                watch.executions[e.exec_id] = e
        for o in placed.orders:
            watch.orders.setdefault(o.client_order_id, o)
            role = orders.BracketRole.Name(o.bracket_role).removeprefix("BRACKET_ROLE_").lower()
            print(f"placed {o.client_order_id:<{len(parent_id) + 3}} {role:<11} IB order {o.order_id}  {status_name(o)}")

        watch.until(lambda: watch.orders[parent_id].status in FINAL, f"{parent_id} final")
        parent = watch.orders[parent_id]
        if parent.status != orders.ORDER_STATUS_FILLED:
            why = f": {parent.last_message.text}" if parent.HasField("last_message") else ""
            print(f"parent {parent_id} {status_name(parent)}{why}", file=sys.stderr)
            return 1
        print(f"parent {parent_id} FILLED {parent.filled_quantity} @ avg {parent.average_fill_price}")
        # Every fill of the parent, each with its commission (IB's report follows the fill).
        filled = Decimal(parent.filled_quantity)
        watch.until(lambda: sum((Decimal(e.quantity) for e in watch.fills(parent_id)), Decimal(0)) == filled and all(e.commission for e in watch.fills(parent_id)), "the fills' commissions")
        for e in watch.fills(parent_id):
            at = e.time.ToDatetime().strftime("%H:%M:%S.%f")[:-3]
            venue = f" on {e.exchange}" if e.exchange else ""
            print(f"fill {e.exec_id}  {e.quantity} @ {e.price}{venue}  commission {e.commission} {e.commission_currency}  at {at} UTC")
        # The legs work once the parent has filled: the take-profit (a limit) at the exchange, the stop-loss
        # held by IB until its stop is touched (PRE_SUBMITTED) or at the exchange.
        held = (orders.ORDER_STATUS_PENDING_SUBMIT, orders.ORDER_STATUS_API_PENDING, orders.ORDER_STATUS_PRE_SUBMITTED)
        watch.until(lambda: watch.orders[legs[0]].status not in held, "the take-profit working")
        for leg in legs:
            o = watch.orders[leg]
            price = o.limit_price or o.stop_price
            print(f"leg {leg} {orders.OrderType.Name(o.order_type).removeprefix('ORDER_TYPE_')} {orders.OrderSide.Name(o.side).removeprefix('ORDER_SIDE_')} @ {price}: {status_name(o)}")
    finally:
        # Leave nothing working, even after an error: cancelling an order already final changes nothing.
        try:
            try:
                parent_now = trader.get(parent_id) if ours else None
            except grpc.RpcError as err:
                # Never placed (PlaceOrder refused it, or failed before the service claimed it): nothing to cancel.
                if err.code() != grpc.StatusCode.NOT_FOUND:
                    raise
                parent_now = None
            if parent_now is not None:
                if parent_now.status not in FINAL:
                    print(f"cancel {parent_id}: {status_name(trader.cancel(parent_id, watch))}")
                for leg in legs:
                    o = trader.cancel(leg, watch)
                    print(f"cancel {leg}: {status_name(o)}")
        finally:
            watch.close()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("symbol", nargs="?", default="BTCUSDT")
    parser.add_argument("--quantity", default="0.01")
    parser.add_argument("--id", default=f"bracket-{uuid.uuid4().hex[:12]}", help="the bracket's client order id")
    args = parser.parse_args()
    token = os.environ.get("PROVIDER_TRADE_TOKEN") or os.environ.get("PROVIDER_API_TOKEN")
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    with grpc.insecure_channel(os.environ.get("IB_PROVIDER_ADDR", "127.0.0.1:50051")) as channel:
        try:
            return bracket(Trader(channel, metadata), args.symbol, args.quantity, args.id)
        except grpc.RpcError as err:
            print(f"{err.code().name}: {err.details()}", file=sys.stderr)
            return 1
        except (TimeoutError, ConnectionError) as err:
            # A wait on StreamOrders gave up (the orders were cancelled on the way out).
            print(err, file=sys.stderr)
            return 1


if __name__ == "__main__":
    sys.exit(main())
