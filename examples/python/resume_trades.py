#!/usr/bin/python3
"""Trade prints for a symbol that survive a dropped connection with nothing lost and nothing twice.

    npx buf generate --template buf.gen.python.yaml       # once: writes clients/python/
    /usr/bin/python3 examples/python/resume_trades.py BTCUSDT 20

Arguments: symbol (default BTCUSDT), number of prints to show (default 0: until Ctrl-C).
Environment: IB_PROVIDER_ADDR (default 127.0.0.1:50051), PROVIDER_API_TOKEN (when the server has one).

How (docs/streams.md, "Replay and resume"): remember the epoch of the feed's numbering (StreamStatus.epoch
on SUBSCRIBED and REPLAY_COMPLETE) and the sequence of the last print processed. When the stream fails
with UNAVAILABLE (the service restarted, the network dropped), open it again with after_sequence + epoch:
the service replays every print after that one it still holds, sends REPLAY_COMPLETE, then continues live,
numbering contiguous. Only a GAP status means prints are missing for good (the service no longer holds
them, or it restarted without saving its last events); a new epoch means the numbering began again.
"""
import os
import sys
import time
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

# Consecutive failed attempts (no print in between) before giving up.
MAX_ATTEMPTS = 20


class ResumePoint:
    """Where the stream stands: the last print's sequence and the epoch it is numbered in."""

    def __init__(self) -> None:
        self.sequence: int | None = None
        self.epoch = 0  # of `sequence`
        self.announced = 0  # the epoch the next print is numbered in, as the statuses so far say

    def request(self, symbol: str) -> md.StreamTradesRequest:
        request = md.StreamTradesRequest(connector_type="ib", market_type="spot", symbol=symbol)
        if self.resumable:
            request.after_sequence, request.epoch = self.sequence, self.epoch
        return request

    @property
    def resumable(self) -> bool:
        return self.sequence is not None and self.epoch != 0


def stream(stub: md_grpc.MarketDataServiceStub, symbol: str, limit: int, metadata) -> int:
    point = ResumePoint()
    printed = attempts = 0
    while True:
        resuming = point.resumable
        # wait_for_ready: a resume waits for the connection to come back instead of failing at once.
        call = stub.StreamTrades(point.request(symbol), metadata=metadata, wait_for_ready=resuming)
        first = True
        try:
            for response in call:
                for event in response.events:
                    kind = event.WhichOneof("event")
                    if kind == "status":
                        status = event.status
                        # A resumed call's first SUBSCRIBED names the live feed's epoch; the prints replayed
                        # before REPLAY_COMPLETE keep the epoch we asked for unless a replayed status says otherwise.
                        if status.epoch and not (first and resuming and status.kind == types.STREAM_STATUS_KIND_SUBSCRIBED):
                            point.announced = status.epoch
                        if status.kind == types.STREAM_STATUS_KIND_GAP:
                            print(f"gap: {status.message}", flush=True)
                        elif status.kind != types.STREAM_STATUS_KIND_SUBSCRIBED or not resuming:
                            print(f"status {types.StreamStatusKind.Name(status.kind)}: {status.message}", flush=True)
                    elif kind == "trade":
                        if point.sequence is not None and point.epoch and point.announced and point.announced != point.epoch:
                            print(f"gap: restarted: new epoch {point.announced} (was {point.epoch}); the numbering began again", flush=True)
                        point.sequence, point.epoch = event.sequence, point.announced
                        t = event.trade
                        side = {types.TRADE_SIDE_BUY: "buy", types.TRADE_SIDE_SELL: "sell"}.get(t.side, "?")
                        print(f"#{event.sequence} {t.symbol} {side:<4} {t.volume} @ {t.price}", flush=True)
                        printed += 1
                        attempts = 0
                        if printed == limit:
                            call.cancel()  # frees the service's feed
                            return 0
                    first = False
            return 0  # the service ended the stream
        except grpc.RpcError as err:
            if err.code() != grpc.StatusCode.UNAVAILABLE or attempts >= MAX_ATTEMPTS:
                print(f"{err.code().name}: {err.details()}", file=sys.stderr)
                return 1
            attempts += 1
            where = f"after #{point.sequence} of epoch {point.epoch}" if point.resumable else "live"
            print(f"reconnecting ({err.code().name}): resuming {where}", flush=True)
            time.sleep(min(0.25 * 2 ** (attempts - 1), 5.0))


def main() -> int:
    symbol = sys.argv[1] if len(sys.argv) > 1 else "BTCUSDT"
    limit = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    token = os.environ.get("PROVIDER_API_TOKEN")
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    # Reconnect soon after the service is back (gRPC's default backoff grows to 2 minutes).
    options = [("grpc.initial_reconnect_backoff_ms", 250), ("grpc.max_reconnect_backoff_ms", 2000)]
    with grpc.insecure_channel(os.environ.get("IB_PROVIDER_ADDR", "127.0.0.1:50051"), options=options) as channel:
        try:
            return stream(md_grpc.MarketDataServiceStub(channel), symbol, limit, metadata)
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    sys.exit(main())
