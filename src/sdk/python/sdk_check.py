#!/usr/bin/python3
"""The CI proof that the generated Python client works (run by src/sdk/pythonClient.test.ts).

    PYTHONPATH=<generated clients/python> /usr/bin/python3 sdk_check.py <check> [args]

Checks: unary | stream SYMBOL COUNT | auth | cancel SYMBOL. Each prints one JSON object per line for the
test to assert on. Environment: IB_PROVIDER_ADDR, PROVIDER_API_TOKEN. Every call has a deadline.
"""
import json
import os
import sys
import time

import grpc

from google.rpc import error_details_pb2, status_pb2
from ibprovider.v1 import market_data_service_pb2 as md
from ibprovider.v1 import market_data_service_pb2_grpc as md_grpc
from ibprovider.v1 import runtime_service_pb2 as rt
from ibprovider.v1 import runtime_service_pb2_grpc as rt_grpc
from ibprovider.v1 import symbol_service_pb2 as sym
from ibprovider.v1 import symbol_service_pb2_grpc as sym_grpc
from ibprovider.v1 import types_pb2 as types

DEADLINE_S = 15


def emit(**fields) -> None:
    print(json.dumps(fields), flush=True)


def metadata():
    token = os.environ.get("PROVIDER_API_TOKEN")
    return (("authorization", f"Bearer {token}"),) if token else ()


def unary(channel: grpc.Channel) -> None:
    proof = rt_grpc.RuntimeServiceStub(channel).GetRuntimeProof(rt.GetRuntimeProofRequest(), metadata=metadata(), timeout=DEADLINE_S)
    symbol = sym_grpc.SymbolServiceStub(channel).GetSymbol(
        sym.GetSymbolRequest(connector_type="ib", market_type="spot", symbol="BTCUSDT"), metadata=metadata(), timeout=DEADLINE_S
    ).symbol
    emit(
        check="unary",
        gateway_mode=rt.GatewayMode.Name(proof.gateway_mode),
        server_version=proof.server_version,
        symbol=symbol.name,
        sec_type=symbol.sec_type,
        exchange=symbol.exchange,
        con_id=symbol.con_id,  # int64 arrives as a Python int
        tick_size=symbol.tick_size,
    )


def stream(channel: grpc.Channel, symbol: str, count: int) -> None:
    call = md_grpc.MarketDataServiceStub(channel).StreamTicks(
        md.StreamTicksRequest(connector_type="ib", market_type="spot", symbol=symbol), metadata=metadata(), timeout=DEADLINE_S
    )
    ticks = 0
    for response in call:
        for event in response.events:
            if event.WhichOneof("event") == "tick":
                tick: types.Tick = event.tick
                emit(check="tick", type=type(tick).__name__, symbol=tick.symbol, bid=tick.bid, ask=tick.ask,
                     market_data_type=types.MarketDataType.Name(tick.market_data_type), time_s=tick.time.seconds)
                ticks += 1
            elif event.WhichOneof("event") == "status":
                emit(check="status", kind=types.StreamStatusKind.Name(event.status.kind))
        if ticks >= count:
            call.cancel()
            break
    emit(check="stream", ticks=ticks)


def auth(channel: grpc.Channel) -> None:
    try:
        rt_grpc.RuntimeServiceStub(channel).GetRuntimeProof(rt.GetRuntimeProofRequest(), metadata=metadata(), timeout=DEADLINE_S)
        emit(check="auth", code="OK")
    except grpc.RpcError as err:
        # AIP-193 details ride in the grpc-status-details-bin trailer as a google.rpc.Status.
        reason = ""
        for key, value in err.trailing_metadata() or ():
            if key == "grpc-status-details-bin":
                for detail in status_pb2.Status.FromString(value).details:
                    info = error_details_pb2.ErrorInfo()
                    if detail.Unpack(info):
                        reason = info.reason
        emit(check="auth", code=err.code().name, details=err.details(), reason=reason)


def tick_consumers(channel: grpc.Channel, symbol: str) -> int:
    res = rt_grpc.RuntimeServiceStub(channel).ListSubscriptions(rt.ListSubscriptionsRequest(), metadata=metadata(), timeout=DEADLINE_S)
    return sum(s.consumers for s in res.subscriptions if s.symbol == symbol and s.kind == rt.SUBSCRIPTION_KIND_TICK)


def cancel(channel: grpc.Channel, symbol: str) -> None:
    call = md_grpc.MarketDataServiceStub(channel).StreamTicks(
        md.StreamTicksRequest(connector_type="ib", market_type="spot", symbol=symbol), metadata=metadata(), timeout=DEADLINE_S
    )
    first = next(call)  # the stream is open and subscribed
    before = tick_consumers(channel, symbol)
    call.cancel()
    code = "OK"
    try:
        for _ in call:  # messages already received may still be delivered; then the cancellation
            pass
    except grpc.RpcError as err:
        code = err.code().name
    # The server must let go of the IB subscription; poll the public API, bounded.
    after, give_up = before, time.monotonic() + 5
    while after > 0 and time.monotonic() < give_up:
        time.sleep(0.1)
        after = tick_consumers(channel, symbol)
    emit(check="cancel", first_events=len(first.events), consumers_before=before, code_after_cancel=code, consumers_after=after)


def main() -> int:
    check, args = sys.argv[1], sys.argv[2:]
    with grpc.insecure_channel(os.environ.get("IB_PROVIDER_ADDR", "127.0.0.1:50051")) as channel:
        if check == "unary":
            unary(channel)
        elif check == "stream":
            stream(channel, args[0], int(args[1]))
        elif check == "auth":
            auth(channel)
        elif check == "cancel":
            cancel(channel, args[0])
        else:
            raise SystemExit(f"unknown check {check!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
