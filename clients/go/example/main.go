// Example ib-provider client in Go: the runtime proof, then live L1 ticks (batches of events).
//
//	npx buf generate --template clients/go/buf.gen.yaml
//	see clients/README.md for building against Debian's Go packages
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	ibv1 "example.com/ibprovider/clients/go/gen/ibprovider/v1"
)

func main() {
	addr := os.Getenv("IB_PROVIDER_ADDR")
	if addr == "" {
		addr = "127.0.0.1:50051"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if token := os.Getenv("PROVIDER_API_TOKEN"); token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	// Debian's grpc-go (1.33) predates grpc.NewClient and credentials/insecure.
	conn, err := grpc.DialContext(ctx, addr, grpc.WithInsecure())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer conn.Close()

	proof, err := ibv1.NewRuntimeServiceClient(conn).GetRuntimeProof(ctx, &ibv1.GetRuntimeProofRequest{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("gateway:", proof.GatewayMode, proof.GatewayAddress, "server version", proof.ServerVersion)

	stream, err := ibv1.NewMarketDataServiceClient(conn).StreamTicks(ctx, &ibv1.StreamTicksRequest{ConnectorType: "ib", MarketType: "spot", Symbol: "BTCUSDT"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for seen := 0; seen < 5; {
		res, err := stream.Recv()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		for _, ev := range res.Events {
			switch e := ev.Event.(type) {
			case *ibv1.TickEvent_Tick:
				fmt.Printf("%s bid %s x %s  ask %s x %s\n", e.Tick.Symbol, e.Tick.Bid, e.Tick.BidSize, e.Tick.Ask, e.Tick.AskSize)
				seen++
			case *ibv1.TickEvent_Status:
				fmt.Println("status:", e.Status.Message)
			}
		}
	}
}
