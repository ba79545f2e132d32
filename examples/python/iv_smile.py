#!/usr/bin/python3
"""An implied-volatility smile: an underlying's option chain, a snapshot of the strikes around the money, then the greeks of the at-the-money call and put as they stream.

    npx buf generate --template buf.gen.python.yaml       # once: writes clients/python/
    /usr/bin/python3 examples/python/iv_smile.py AAPL

Options: --expiry YYYYMMDD (default: the nearest listed), --strikes N (the N listed strikes nearest the
underlying's price, default 12), --trading-class C (e.g. SPXW for SPX weeklies; default: the underlying's own
class, or the only one), --market futures for options on futures (e.g. ES), --updates N stops after N streamed
lines (default: run until Ctrl-C).
Environment: IB_PROVIDER_ADDR (default 127.0.0.1:50051), PROVIDER_API_TOKEN (when the server has one).
Decimal strings become decimal.Decimal: prices and greeks are never floats.

Three calls: SymbolService.GetOptionChain (expiries and strikes per trading class), then
MarketDataService.GetOptionChainQuotes (one snapshot of the chosen strikes: the service holds an IB market
data line per option only until it is quoted, and lists in `missing` what got no quote), then StreamTicks on
the at-the-money call and put, whose ticks carry IB's option computations. The IV and delta shown are IB's
model computation (kind MODEL) when it has one, else the first kind it sent (bid, ask, last). IB's units
(docs/instruments.md): IV annualized (printed in %), vega per 1 point of IV, theta per calendar day, all per
unit of the underlying (times the multiplier for a contract). An empty value is one IB has not computed: "-".
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
    from ibprovider.v1 import symbol_service_pb2 as sym
    from ibprovider.v1 import symbol_service_pb2_grpc as sym_grpc
    from ibprovider.v1 import types_pb2 as types
except ImportError:
    sys.exit("ibprovider stubs not found: run `npx buf generate --template buf.gen.python.yaml` first")


def dec(value: str) -> Decimal | None:
    """The API's decimal strings; "" means not known (not computed) yet."""
    return Decimal(value) if value else None


def computation(tick: types.Tick) -> types.OptionComputation | None:
    """IB's model computation when there is one, else the first kind IB sent (bid, ask, last), else None."""
    kinds = {c.kind: c for c in tick.option_computations}
    return kinds.get(types.OPTION_COMPUTATION_KIND_MODEL) or next(iter(tick.option_computations), None)


def mid(tick: types.Tick) -> Decimal | None:
    """(bid + ask) / 2 when both sides are quoted, else the last price, else None."""
    bid, ask = dec(tick.bid), dec(tick.ask)
    return (bid + ask) / 2 if bid is not None and ask is not None else dec(tick.last)


def pct(value: Decimal | None) -> str:
    return f"{(value * 100).quantize(Decimal('0.01'))}%" if value is not None else "-"


def fixed(value: Decimal | None, places: str = "0.0001") -> str:
    return str(value.quantize(Decimal(places))) if value is not None else "-"


def plain(value: Decimal | None) -> str:
    """A decimal without trailing zeros nor exponent notation (170, 1.8, 0.005)."""
    return format(value.normalize(), "f") if value is not None else "-"


class Smile:
    """One expiry's snapshot by strike: the call's and put's quote, and the at-the-money strike."""

    def __init__(self, response: md.GetOptionChainQuotesResponse) -> None:
        self.underlying_price = dec(response.underlying_price)
        self.by_strike: dict[Decimal, dict[int, md.OptionQuote]] = {}
        for quote in response.quotes:
            self.by_strike.setdefault(Decimal(quote.strike), {})[quote.right] = quote

    def atm_strike(self) -> Decimal | None:
        """The strike nearest the underlying's price among those with both a call and a put quoted."""
        both = [k for k, q in self.by_strike.items() if types.OPTION_RIGHT_CALL in q and types.OPTION_RIGHT_PUT in q]
        if not both:
            return None
        if self.underlying_price is None:
            return sorted(both)[len(both) // 2]
        return min(both, key=lambda k: (abs(k - self.underlying_price), k))

    def rows(self) -> list[str]:
        atm = self.atm_strike()
        lines = [f"  {'strike':>9} {'call IV':>9} {'put IV':>9} {'call delta':>11} {'put delta':>10} {'call mid':>10} {'put mid':>10}"]
        for strike in sorted(self.by_strike):
            call, put = self.by_strike[strike].get(types.OPTION_RIGHT_CALL), self.by_strike[strike].get(types.OPTION_RIGHT_PUT)
            cc = computation(call.tick) if call is not None else None
            pc = computation(put.tick) if put is not None else None
            lines.append(
                f"{'*' if strike == atm else ' '} {plain(strike):>9}"
                f" {pct(dec(cc.implied_volatility)) if cc else '-':>9} {pct(dec(pc.implied_volatility)) if pc else '-':>9}"
                f" {fixed(dec(cc.delta)) if cc else '-':>11} {fixed(dec(pc.delta)) if pc else '-':>10}"
                f" {plain(mid(call.tick)) if call else '-':>10} {plain(mid(put.tick)) if put else '-':>10}"
            )
        return lines


def greeks_line(symbol: str, tick: types.Tick) -> str | None:
    """One streamed state of an option: its quote and IB's computation, or None while IB has computed nothing."""
    c = computation(tick)
    if c is None:
        return None
    kind = types.OptionComputationKind.Name(c.kind).removeprefix("OPTION_COMPUTATION_KIND_")
    return (
        f"{symbol} {kind:5} iv {pct(dec(c.implied_volatility))} delta {fixed(dec(c.delta))} gamma {fixed(dec(c.gamma), '0.000001')}"
        f" vega {fixed(dec(c.vega))} theta {fixed(dec(c.theta))} price {plain(dec(c.option_price))}"
        f" | bid {plain(dec(tick.bid))} ask {plain(dec(tick.ask))} underlying {plain(dec(c.underlying_price))}"
    )


async def follow_greeks(stub: md_grpc.MarketDataServiceStub, market: str, symbol: str, metadata, lines: asyncio.Queue) -> None:
    request = md.StreamTicksRequest(connector_type="ib", market_type=market, symbol=symbol)
    async for response in stub.StreamTicks(request, metadata=metadata):
        for event in response.events:  # a batch: one event while we keep up, more if we fall behind
            if event.WhichOneof("event") == "tick":
                line = greeks_line(symbol, event.tick)
                if line is not None:
                    await lines.put((symbol, line))
            elif event.WhichOneof("event") == "status":
                print(f"{symbol} ticks: {types.StreamStatusKind.Name(event.status.kind)} {event.status.message}", flush=True)


def choose_class(chain: sym.GetOptionChainResponse, underlying: str, wanted: str) -> str:
    classes = sorted({row.trading_class for row in chain.rows})
    if not classes:
        sys.exit(f"IB lists no options on {underlying}")
    if wanted:
        if wanted.upper() in classes:
            return wanted.upper()
        sys.exit(f"{underlying} has no trading class {wanted}: {', '.join(classes)}")
    for candidate in (chain.underlying.trading_class, chain.underlying.name, underlying.upper()):
        if candidate in classes:
            return candidate
    if len(classes) == 1:
        return classes[0]
    sys.exit(f"{underlying} has the trading classes {', '.join(classes)}: choose one with --trading-class")


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("underlying", nargs="?", default="AAPL")
    parser.add_argument("--market", default="spot", choices=["spot", "futures"], help="futures for options on futures (e.g. ES)")
    parser.add_argument("--expiry", default="", help="YYYYMMDD (default: the nearest listed)")
    parser.add_argument("--strikes", type=int, default=12, help="the N listed strikes nearest the underlying's price")
    parser.add_argument("--trading-class", default="", help="e.g. SPXW (default: the underlying's own)")
    parser.add_argument("--updates", type=int, default=0, help="stop after N streamed lines (0: run until Ctrl-C)")
    args = parser.parse_args()
    token = os.environ.get("PROVIDER_API_TOKEN")
    metadata = (("authorization", f"Bearer {token}"),) if token else ()

    async with grpc.aio.insecure_channel(os.environ.get("IB_PROVIDER_ADDR", "127.0.0.1:50051")) as channel:
        symbols = sym_grpc.SymbolServiceStub(channel)
        market_data = md_grpc.MarketDataServiceStub(channel)

        # 1. The chain: expiries and strikes per exchange and trading class.
        chain = await symbols.GetOptionChain(sym.GetOptionChainRequest(connector_type="ib", market_type=args.market, underlying=args.underlying), metadata=metadata)
        trading_class = choose_class(chain, args.underlying, args.trading_class)
        rows = [row for row in chain.rows if row.trading_class == trading_class]
        row = next((r for r in rows if r.exchange == "SMART"), rows[0])
        if args.expiry and args.expiry not in row.expirations:
            sys.exit(f"{args.expiry} is not listed for {trading_class}: {', '.join(row.expirations)}")
        expiry = args.expiry or row.expirations[0]  # ascending: the nearest first

        # 2. One snapshot of the strikes around the money, calls and puts.
        snapshot = await market_data.GetOptionChainQuotes(
            md.GetOptionChainQuotesRequest(connector_type="ib", market_type=args.market, underlying=args.underlying, expirations=[expiry], trading_class=trading_class, strikes_around=args.strikes),
            metadata=metadata,
        )
        smile = Smile(snapshot)
        print(
            f"{chain.underlying.name} {expiry} (class {trading_class}, x{row.multiplier or '1'}), underlying {plain(smile.underlying_price)}:"
            f" {len(smile.by_strike)} strikes, {len(snapshot.quotes)} quoted, {len(snapshot.missing)} missing, at most {snapshot.max_lines_open} IB lines at once",
            flush=True,
        )
        for line in smile.rows():
            print(line, flush=True)
        for missing in snapshot.missing:
            print(f"  no quote: {missing.symbol}: {missing.reason}", flush=True)
        atm = smile.atm_strike()
        if atm is None:
            print("no strike with both a call and a put quoted: nothing to stream", file=sys.stderr)
            return 1

        # 3. The at-the-money call and put, streamed: IB's computations as they change.
        pair = [smile.by_strike[atm][right].symbol for right in (types.OPTION_RIGHT_CALL, types.OPTION_RIGHT_PUT)]
        print(f"streaming greeks of {' and '.join(pair)} (strike {plain(atm)})", flush=True)
        lines: asyncio.Queue = asyncio.Queue()
        feeds = [asyncio.create_task(follow_greeks(market_data, args.market, symbol, metadata, lines)) for symbol in pair]
        printed = 0
        last_line: dict[str, str] = {}
        try:
            while args.updates == 0 or printed < args.updates:
                getter = asyncio.create_task(lines.get())
                done, _ = await asyncio.wait([getter, *feeds], return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:  # a stream ended: surface its error (e.g. PERMISSION_DENIED, NOT_FOUND)
                    getter.cancel()
                    for feed in done:
                        feed.result()
                    raise RuntimeError("a stream ended")
                symbol, line = getter.result()
                if last_line.get(symbol) != line:  # changes only
                    last_line[symbol] = line
                    print(line, flush=True)
                    printed += 1
        finally:
            for feed in feeds:
                feed.cancel()  # cancels the gRPC calls: the service releases the IB lines
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
