// The CI proof that the generated Go client works (built and run by src/sdk/goClient.test.ts).
//
//	sdkcheck <check> [args]    checks: unary | stream SYMBOL COUNT | auth | cancel SYMBOL
//
// Each check prints one JSON object per line for the test to assert on. Environment: IB_PROVIDER_ADDR,
// PROVIDER_API_TOKEN. Every call has a deadline.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	ibv1 "ibprovider.local/sdk/ibprovider/v1"
)

const deadline = 15 * time.Second

func emit(fields map[string]interface{}) {
	line, _ := json.Marshal(fields)
	fmt.Println(string(line))
}

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: sdkcheck unary|stream|auth|cancel [args]"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	if token := os.Getenv("PROVIDER_API_TOKEN"); token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	addr := os.Getenv("IB_PROVIDER_ADDR")
	if addr == "" {
		addr = "127.0.0.1:50051"
	}
	// Debian's grpc-go (1.33) predates grpc.NewClient and credentials/insecure.
	conn, err := grpc.DialContext(ctx, addr, grpc.WithInsecure(), grpc.WithBlock())
	if err != nil {
		fail(err)
	}
	defer conn.Close()

	switch check, args := os.Args[1], os.Args[2:]; check {
	case "unary":
		err = unary(ctx, conn)
	case "stream":
		count, convErr := strconv.Atoi(args[1])
		if convErr != nil {
			fail(convErr)
		}
		err = stream(ctx, conn, args[0], count)
	case "auth":
		err = auth(ctx, conn)
	case "cancel":
		err = cancelStream(ctx, conn, args[0])
	default:
		err = fmt.Errorf("unknown check %q", check)
	}
	if err != nil {
		fail(err)
	}
}

func unary(ctx context.Context, conn *grpc.ClientConn) error {
	proof, err := ibv1.NewRuntimeServiceClient(conn).GetRuntimeProof(ctx, &ibv1.GetRuntimeProofRequest{})
	if err != nil {
		return err
	}
	res, err := ibv1.NewSymbolServiceClient(conn).GetSymbol(ctx, &ibv1.GetSymbolRequest{ConnectorType: "ib", MarketType: "spot", Symbol: "BTCUSDT"})
	if err != nil {
		return err
	}
	s := res.Symbol
	emit(map[string]interface{}{
		"check": "unary", "gateway_mode": proof.GatewayMode.String(), "server_version": proof.ServerVersion,
		"symbol": s.Name, "sec_type": s.SecType, "exchange": s.Exchange, "con_id": s.ConId, "tick_size": s.TickSize,
	})
	return nil
}

func stream(ctx context.Context, conn *grpc.ClientConn, symbol string, count int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the stream at the server
	st, err := ibv1.NewMarketDataServiceClient(conn).StreamTicks(ctx, &ibv1.StreamTicksRequest{ConnectorType: "ib", MarketType: "spot", Symbol: symbol})
	if err != nil {
		return err
	}
	ticks := 0
	for ticks < count {
		res, err := st.Recv()
		if err != nil {
			return err
		}
		for _, ev := range res.Events {
			switch e := ev.Event.(type) {
			case *ibv1.TickEvent_Tick:
				t := e.Tick
				emit(map[string]interface{}{"check": "tick", "type": fmt.Sprintf("%T", t), "symbol": t.Symbol, "bid": t.Bid, "ask": t.Ask,
					"market_data_type": t.MarketDataType.String(), "time_s": t.Time.GetSeconds()})
				ticks++
			case *ibv1.TickEvent_Status:
				emit(map[string]interface{}{"check": "status", "kind": e.Status.Kind.String()})
			}
		}
	}
	emit(map[string]interface{}{"check": "stream", "ticks": ticks})
	return nil
}

func auth(ctx context.Context, conn *grpc.ClientConn) error {
	_, err := ibv1.NewRuntimeServiceClient(conn).GetRuntimeProof(ctx, &ibv1.GetRuntimeProofRequest{})
	s := status.Convert(err)
	reason := ""
	// AIP-193 details: the ErrorInfo in grpc-status-details-bin (errdetails registers its type).
	for _, d := range s.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			reason = info.Reason
		}
	}
	emit(map[string]interface{}{"check": "auth", "code": s.Code().String(), "details": s.Message(), "reason": reason})
	return nil
}

func tickConsumers(ctx context.Context, conn *grpc.ClientConn, symbol string) (uint32, error) {
	res, err := ibv1.NewRuntimeServiceClient(conn).ListSubscriptions(ctx, &ibv1.ListSubscriptionsRequest{})
	if err != nil {
		return 0, err
	}
	var n uint32
	for _, s := range res.Subscriptions {
		if s.Symbol == symbol && s.Kind == ibv1.SubscriptionKind_SUBSCRIPTION_KIND_TICK {
			n += s.Consumers
		}
	}
	return n, nil
}

func cancelStream(ctx context.Context, conn *grpc.ClientConn, symbol string) error {
	streamCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := ibv1.NewMarketDataServiceClient(conn).StreamTicks(streamCtx, &ibv1.StreamTicksRequest{ConnectorType: "ib", MarketType: "spot", Symbol: symbol})
	if err != nil {
		return err
	}
	first, err := st.Recv() // the stream is open and subscribed
	if err != nil {
		return err
	}
	before, err := tickConsumers(ctx, conn, symbol)
	if err != nil {
		return err
	}
	cancel()
	// Messages already received may still be delivered; then Recv reports the cancellation.
	for err == nil {
		_, err = st.Recv()
	}
	code := status.Code(err).String()
	// The server must let go of the IB subscription; poll the public API, bounded.
	after, giveUp := before, time.Now().Add(5*time.Second)
	for after > 0 && time.Now().Before(giveUp) {
		time.Sleep(100 * time.Millisecond)
		if after, err = tickConsumers(ctx, conn, symbol); err != nil {
			return err
		}
	}
	emit(map[string]interface{}{"check": "cancel", "first_events": len(first.Events), "consumers_before": before, "code_after_cancel": code, "consumers_after": after})
	return nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "sdkcheck:", err)
	os.Exit(1)
}
