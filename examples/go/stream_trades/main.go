// Streams trade prints for a symbol from ib-provider (the generated Go stubs over Debian's grpc-go).
//
//	npx buf generate --template buf.gen.go.yaml      # once: writes clients/go/src/ibprovider.local/sdk/
//	GO111MODULE=off GOPATH=$PWD/clients/go:/usr/share/gocode go run ./examples/go/stream_trades BTCUSDT 10
//
// Arguments: symbol (default BTCUSDT), number of trades to print (default 0: until Ctrl-C).
// Environment: IB_PROVIDER_ADDR (default 127.0.0.1:50051), PROVIDER_API_TOKEN (when the server has one).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	ibv1 "ibprovider.local/sdk/ibprovider/v1"
)

func main() {
	symbol, limit := "BTCUSDT", 0
	if len(os.Args) > 1 {
		symbol = os.Args[1]
	}
	if len(os.Args) > 2 {
		n, err := strconv.Atoi(os.Args[2])
		if err != nil {
			fail(fmt.Errorf("count %q: %w", os.Args[2], err))
		}
		limit = n
	}
	addr := os.Getenv("IB_PROVIDER_ADDR")
	if addr == "" {
		addr = "127.0.0.1:50051"
	}

	// Ctrl-C cancels the context, which cancels the stream: the service then releases the IB subscription.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if token := os.Getenv("PROVIDER_API_TOKEN"); token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}

	dialCtx, cancelDial := context.WithTimeout(ctx, 10*time.Second)
	defer cancelDial()
	// Debian's grpc-go (1.33) predates grpc.NewClient and credentials/insecure.
	conn, err := grpc.DialContext(dialCtx, addr, grpc.WithInsecure(), grpc.WithBlock())
	if err != nil {
		fail(fmt.Errorf("connect to %s: %w", addr, err))
	}
	defer conn.Close()

	stream, err := ibv1.NewMarketDataServiceClient(conn).StreamTrades(ctx, &ibv1.StreamTradesRequest{ConnectorType: "ib", MarketType: "spot", Symbol: symbol})
	if err != nil {
		fail(err)
	}
	for printed := 0; limit == 0 || printed < limit; {
		res, err := stream.Recv()
		if err != nil {
			if ctx.Err() != nil {
				return // interrupted
			}
			fail(err)
		}
		// Each message is a batch: one event while we keep up, everything queued when we fall behind.
		for _, ev := range res.Events {
			switch e := ev.Event.(type) {
			case *ibv1.TradeEvent_Trade:
				t := e.Trade
				fmt.Printf("%s %s %-4s %s @ %s on %s (#%s)\n", t.Time.AsTime().Format("15:04:05.000"), t.Symbol, side(t.Side), t.Volume, t.Price, t.Exchange, t.TradeId)
				printed++
			case *ibv1.TradeEvent_Status:
				fmt.Printf("status %s: %s\n", e.Status.Kind, e.Status.Message)
			case *ibv1.TradeEvent_Heartbeat:
				// idle feed, still alive
			}
		}
	}
}

func side(s ibv1.TradeSide) string {
	switch s {
	case ibv1.TradeSide_TRADE_SIDE_BUY:
		return "buy"
	case ibv1.TradeSide_TRADE_SIDE_SELL:
		return "sell"
	default:
		return "?"
	}
}

func fail(err error) {
	if s, ok := status.FromError(err); ok {
		fmt.Fprintf(os.Stderr, "%s: %s\n", s.Code(), s.Message())
	} else {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(1)
}
