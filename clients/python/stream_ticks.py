#!/usr/bin/env python3
"""Example ib-provider client: the runtime proof, then live L1 ticks for a symbol.

    npx buf generate --template clients/python/buf.gen.yaml
    PYTHONPATH=clients/python/gen /usr/bin/python3 clients/python/stream_ticks.py BTCUSDT

Environment: IB_PROVIDER_ADDR (default 127.0.0.1:50051), PROVIDER_API_TOKEN (when the server has one).
"""
import os
import sys

import grpc

from ibprovider.v1 import market_data_service_pb2 as md
from ibprovider.v1 import market_data_service_pb2_grpc as md_grpc
from ibprovider.v1 import runtime_service_pb2 as rt
from ibprovider.v1 import runtime_service_pb2_grpc as rt_grpc


def main() -> int:
    symbol = sys.argv[1] if len(sys.argv) > 1 else "BTCUSDT"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    token = os.environ.get("PROVIDER_API_TOKEN")
    metadata = [("authorization", f"Bearer {token}")] if token else []
    with grpc.insecure_channel(os.environ.get("IB_PROVIDER_ADDR", "127.0.0.1:50051")) as channel:
        proof = rt_grpc.RuntimeServiceStub(channel).GetRuntimeProof(rt.GetRuntimeProofRequest(), metadata=metadata, timeout=10)
        print("gateway:", rt.GatewayMode.Name(proof.gateway_mode), proof.gateway_address, "server version", proof.server_version)
        stream = md_grpc.MarketDataServiceStub(channel).StreamTicks(
            md.StreamTicksRequest(connector_type="ib", market_type="spot", symbol=symbol), metadata=metadata, timeout=60
        )
        seen = 0
        for response in stream:  # each response is a batch of events
            for event in response.events:
                kind = event.WhichOneof("event")
                if kind == "tick":
                    t = event.tick
                    print(f"{t.symbol} bid {t.bid} x {t.bid_size}  ask {t.ask} x {t.ask_size}  last {t.last}")
                    seen += 1
                elif kind == "status":
                    print("status:", event.status.message)
            if seen >= count:
                stream.cancel()
                break
    return 0


if __name__ == "__main__":
    sys.exit(main())
