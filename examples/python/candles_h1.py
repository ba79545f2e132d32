#!/usr/bin/python3
"""Seven days of h1 candles into a list of dataclasses with Decimal prices.

    npx buf generate --template buf.gen.python.yaml       # once: writes clients/python/
    /usr/bin/python3 examples/python/candles_h1.py BTCUSDT

Environment: IB_PROVIDER_ADDR (default 127.0.0.1:50051), PROVIDER_API_TOKEN (when the server has one).
"""
import os
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
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


@dataclass(frozen=True)
class Candle:
    time: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    vwap: Decimal | None  # "" when IB does not provide it
    is_complete: bool

    @classmethod
    def from_proto(cls, c: types.Candle) -> "Candle":
        return cls(
            time=c.time.ToDatetime(tzinfo=timezone.utc),
            open=Decimal(c.open),
            high=Decimal(c.high),
            low=Decimal(c.low),
            close=Decimal(c.close),
            volume=Decimal(c.volume),
            vwap=Decimal(c.vwap) if c.vwap else None,
            is_complete=c.is_complete,
        )


def fetch_candles(stub: md_grpc.MarketDataServiceStub, symbol: str, metadata) -> list[Candle]:
    # The service splits the week into IB-sized requests and paces them to IB's rules: allow for that.
    request = md.GetCandlesRequest(connector_type="ib", market_type="spot", symbol=symbol, interval="h1", days=7)
    response = stub.GetCandles(request, metadata=metadata, timeout=120)
    return [Candle.from_proto(c) for c in response.candles]


def main() -> int:
    symbol = sys.argv[1] if len(sys.argv) > 1 else "BTCUSDT"
    token = os.environ.get("PROVIDER_API_TOKEN")
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    with grpc.insecure_channel(os.environ.get("IB_PROVIDER_ADDR", "127.0.0.1:50051")) as channel:
        try:
            candles = fetch_candles(md_grpc.MarketDataServiceStub(channel), symbol, metadata)
        except grpc.RpcError as err:
            print(f"{err.code().name}: {err.details()}", file=sys.stderr)
            return 1
    first, last = candles[0], candles[-1]
    print(f"{symbol}: {len(candles)} h1 candles from {first.time:%Y-%m-%d %H:%M} to {last.time:%Y-%m-%d %H:%M} UTC")
    print(f"week high {max(c.high for c in candles)}  low {min(c.low for c in candles)}  "
          f"volume {sum((c.volume for c in candles), Decimal(0))}  change {last.close - first.open:+}")
    print("last:", last)
    return 0


if __name__ == "__main__":
    sys.exit(main())
