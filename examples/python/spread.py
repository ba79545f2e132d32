#!/usr/bin/python3
"""A strategy skeleton: L1 ticks and L2 depth for two symbols, printing each one's spread as it changes.

    npx buf generate --template buf.gen.python.yaml       # once: writes clients/python/
    /usr/bin/python3 examples/python/spread.py BTCUSDT ETHUSDT

Options: --updates N stops after N printed lines (default: run until Ctrl-C).
Environment: IB_PROVIDER_ADDR (default 127.0.0.1:50051), PROVIDER_API_TOKEN (when the server has one).
Decimal strings become decimal.Decimal: prices are never floats.

Spreads are computed on consistent quotes only. IB sends one change of the book as several row operations
(and one change of the quote as a bid tick, then an ask tick), and the service forwards each as it comes:
between them the best bid can reach or pass the best ask. A book counts only while the stream says
`is_consistent` (it mirrors IB's rows: false in the empty snapshot after a reset and after a missed update
until the fresh snapshot) and is not crossed; a quote only while bid < ask. Otherwise that spread shows "-" until
the next consistent state.
"""
import argparse
import asyncio
import os
import sys
from decimal import Decimal
from pathlib import Path

# The generated stubs: PYTHONPATH wins; otherwise the repository's clients/python.
sys.path.append(str(Path(__file__).resolve().parents[2] / "clients" / "python"))

import grpc  # noqa: E402

try:
    from ibprovider.v1 import market_data_service_pb2 as md
    from ibprovider.v1 import market_data_service_pb2_grpc as md_grpc
    from ibprovider.v1 import types_pb2 as types
except ImportError:
    sys.exit("ibprovider stubs not found: run `npx buf generate --template buf.gen.python.yaml` first")


def dec(value: str) -> Decimal | None:
    """The API's decimal strings; "" means not known yet."""
    return Decimal(value) if value else None


class Market:
    """What the strategy knows about one symbol: the L1 quote and a local L2 book."""

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.bid: Decimal | None = None
        self.ask: Decimal | None = None
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}
        self.book_consistent = False

    def on_tick(self, tick: types.Tick) -> None:
        self.bid, self.ask = dec(tick.bid), dec(tick.ask)

    def on_book(self, update: types.OrderBookUpdate) -> None:
        if update.is_snapshot:
            self.bids.clear()
            self.asks.clear()
        for side, levels in ((self.bids, update.bids), (self.asks, update.asks)):
            for level in levels:
                price, volume = Decimal(level.price), Decimal(level.volume)
                if volume == 0:
                    side.pop(price, None)  # "0" removes the level
                else:
                    side[price] = volume
        self.book_consistent = update.is_consistent

    def l1_spread(self) -> Decimal | None:
        """ask - bid, or None until both are known and the quote is not mid-update (bid >= ask)."""
        if self.bid is None or self.ask is None or self.bid >= self.ask:
            return None
        return self.ask - self.bid

    def book_top(self) -> tuple[Decimal, Decimal] | None:
        """(best bid, best ask) of a consistent, uncrossed book with both sides; None otherwise."""
        if not self.book_consistent or not self.bids or not self.asks:
            return None
        best_bid, best_ask = max(self.bids), min(self.asks)
        return (best_bid, best_ask) if best_bid < best_ask else None

    def line(self) -> str | None:
        """The spreads, or None while neither is consistent yet (nothing worth printing)."""
        spread, top = self.l1_spread(), self.book_top()
        if spread is None and top is None:
            return None
        l1 = f"{spread}" if spread is not None else "-"
        book = f"{top[1] - top[0]} ({top[0]} / {top[1]}, {len(self.bids)}x{len(self.asks)} levels)" if top is not None else "-"
        return f"{self.symbol:8} L1 spread {l1:>10}  book spread {book}"


async def follow_ticks(stub: md_grpc.MarketDataServiceStub, market: Market, metadata, changed: asyncio.Queue) -> None:
    request = md.StreamTicksRequest(connector_type="ib", market_type="spot", symbol=market.symbol)
    async for response in stub.StreamTicks(request, metadata=metadata):
        for event in response.events:  # a batch: one event while we keep up, more if we fall behind
            if event.WhichOneof("event") == "tick":
                market.on_tick(event.tick)
                await changed.put(market)
            elif event.WhichOneof("event") == "status":
                print(f"{market.symbol:8} ticks: {types.StreamStatusKind.Name(event.status.kind)} {event.status.message}")


async def follow_book(stub: md_grpc.MarketDataServiceStub, market: Market, metadata, changed: asyncio.Queue) -> None:
    request = md.StreamOrderBookRequest(connector_type="ib", market_type="spot", symbol=market.symbol, depth=10)
    async for response in stub.StreamOrderBook(request, metadata=metadata):
        for event in response.events:
            if event.WhichOneof("event") == "update":
                market.on_book(event.update)
                await changed.put(market)
            elif event.WhichOneof("event") == "status":
                print(f"{market.symbol:8} book: {types.StreamStatusKind.Name(event.status.kind)} {event.status.message}")


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("symbols", nargs="*", default=["BTCUSDT", "ETHUSDT"])
    parser.add_argument("--updates", type=int, default=0, help="stop after N lines (0: run until Ctrl-C)")
    args = parser.parse_args()
    token = os.environ.get("PROVIDER_API_TOKEN")
    metadata = (("authorization", f"Bearer {token}"),) if token else ()

    async with grpc.aio.insecure_channel(os.environ.get("IB_PROVIDER_ADDR", "127.0.0.1:50051")) as channel:
        stub = md_grpc.MarketDataServiceStub(channel)
        changed: asyncio.Queue = asyncio.Queue()
        markets = [Market(symbol) for symbol in args.symbols]
        feeds = [asyncio.create_task(follow(stub, m, metadata, changed)) for m in markets for follow in (follow_ticks, follow_book)]
        printed = 0
        last_line: dict[str, str] = {}
        try:
            while args.updates == 0 or printed < args.updates:
                getter = asyncio.create_task(changed.get())
                done, _ = await asyncio.wait([getter, *feeds], return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:  # a feed ended: surface its error (e.g. UNAUTHENTICATED, NOT_FOUND)
                    getter.cancel()
                    for feed in done:
                        feed.result()
                    raise RuntimeError("a stream ended")
                market = getter.result()
                line = market.line()
                if line is not None and last_line.get(market.symbol) != line:  # consistent changes only
                    last_line[market.symbol] = line
                    print(line, flush=True)
                    printed += 1
        finally:
            for feed in feeds:
                feed.cancel()  # cancels the gRPC calls: the service releases the IB subscriptions
            await asyncio.gather(*feeds, return_exceptions=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except KeyboardInterrupt:
        sys.exit(130)
    except grpc.aio.AioRpcError as err:
        print(f"{err.code().name}: {err.details()}", file=sys.stderr)
        sys.exit(1)
