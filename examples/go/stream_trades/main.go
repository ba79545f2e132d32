// Streams trade prints for a symbol from ib-provider (the generated Go stubs over Debian's grpc-go), and
// survives a dropped connection with nothing lost and nothing twice.
//
//	npx buf generate --template buf.gen.go.yaml      # once: writes clients/go/src/ibprovider.local/sdk/
//	GO111MODULE=off GOPATH=$PWD/clients/go:/usr/share/gocode go run ./examples/go/stream_trades BTCUSDT 10
//
// Arguments: symbol (default BTCUSDT), number of trades to print (default 0: until Ctrl-C).
// Environment: IB_PROVIDER_ADDR (default 127.0.0.1:50051), PROVIDER_API_TOKEN (when the server has one).
//
// Resume (docs/streams.md, "Replay and resume"): the program remembers the epoch of the feed's numbering
// (StreamStatus.Epoch on SUBSCRIBED and REPLAY_COMPLETE) and the sequence of the last print it processed.
// When the stream fails with UNAVAILABLE (the service restarted, the network dropped) it opens the stream
// again with AfterSequence + Epoch: the service replays every print after that one it still holds, sends
// REPLAY_COMPLETE, then continues live, numbering contiguous. Only a GAP status means prints are missing
// for good; a new epoch means the numbering began again.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	ibv1 "ibprovider.local/sdk/ibprovider/v1"
)

// maxAttempts bounds consecutive failed attempts (no print in between) before giving up.
const maxAttempts = 20

// resumePoint is where the stream stands: the last print's sequence and the epoch it is numbered in.
type resumePoint struct {
	sequence  uint64 // 0: no print yet
	epoch     uint64 // of sequence
	announced uint64 // the epoch the next print is numbered in, as the statuses so far say
}

func (p *resumePoint) resumable() bool { return p.sequence != 0 && p.epoch != 0 }

func (p *resumePoint) request(symbol string) *ibv1.StreamTradesRequest {
	req := &ibv1.StreamTradesRequest{ConnectorType: "ib", MarketType: "spot", Symbol: symbol}
	if p.resumable() {
		after, epoch := p.sequence, p.epoch
		req.AfterSequence, req.Epoch = &after, &epoch
	}
	return req
}

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
	// Debian's grpc-go (1.33) predates grpc.NewClient and credentials/insecure. Reconnect soon after the
	// service is back (grpc-go's default backoff grows to 2 minutes).
	reconnect := backoff.DefaultConfig
	reconnect.BaseDelay, reconnect.MaxDelay = 250*time.Millisecond, 2*time.Second
	conn, err := grpc.DialContext(dialCtx, addr, grpc.WithInsecure(), grpc.WithBlock(), grpc.WithConnectParams(grpc.ConnectParams{Backoff: reconnect, MinConnectTimeout: 5 * time.Second}))
	if err != nil {
		fail(fmt.Errorf("connect to %s: %w", addr, err))
	}
	defer conn.Close()
	client := ibv1.NewMarketDataServiceClient(conn)

	var point resumePoint
	printed, attempts := 0, 0
	for {
		resuming := point.resumable()
		// WaitForReady: a resume waits for the connection to come back instead of failing at once.
		streamCtx, cancelStream := context.WithCancel(ctx)
		stream, err := client.StreamTrades(streamCtx, point.request(symbol), grpc.WaitForReady(resuming))
		first := true
		for err == nil {
			var res *ibv1.StreamTradesResponse
			if res, err = stream.Recv(); err != nil {
				break
			}
			// Each message is a batch: one event while we keep up, everything queued when we fall behind.
			for _, ev := range res.Events {
				switch e := ev.Event.(type) {
				case *ibv1.TradeEvent_Trade:
					if point.sequence != 0 && point.epoch != 0 && point.announced != 0 && point.announced != point.epoch {
						fmt.Printf("gap: restarted: new epoch %d (was %d); the numbering began again\n", point.announced, point.epoch)
					}
					point.sequence, point.epoch = ev.Sequence, point.announced
					t := e.Trade
					fmt.Printf("%s %s %-4s %s @ %s on %s (#%s)\n", t.Time.AsTime().Format("15:04:05.000"), t.Symbol, side(t.Side), t.Volume, t.Price, t.Exchange, t.TradeId)
					printed++
					attempts = 0
					if limit != 0 && printed >= limit {
						cancelStream() // frees the service's feed
						return
					}
				case *ibv1.TradeEvent_Status:
					s := e.Status
					// A resumed call's first SUBSCRIBED names the live feed's epoch; the prints replayed before
					// REPLAY_COMPLETE keep the epoch asked for unless a replayed status says otherwise.
					isSubscribed := s.Kind == ibv1.StreamStatusKind_STREAM_STATUS_KIND_SUBSCRIBED
					if s.Epoch != 0 && !(first && resuming && isSubscribed) {
						point.announced = s.Epoch
					}
					if s.Kind == ibv1.StreamStatusKind_STREAM_STATUS_KIND_GAP {
						fmt.Printf("gap: %s\n", s.Message)
					} else if !isSubscribed || !resuming {
						fmt.Printf("status %s: %s\n", s.Kind, s.Message)
					}
				case *ibv1.TradeEvent_Heartbeat:
					// idle feed, still alive
				}
				first = false
			}
		}
		cancelStream()
		if ctx.Err() != nil {
			return // interrupted
		}
		if status.Code(err) != codes.Unavailable || attempts >= maxAttempts {
			fail(err) // io.EOF included: the service ended the stream
		}
		attempts++
		where := "live"
		if point.resumable() {
			where = fmt.Sprintf("after #%d of epoch %d", point.sequence, point.epoch)
		}
		fmt.Printf("reconnecting (%s): resuming %s\n", status.Code(err), where)
		delay := 250 * time.Millisecond << (attempts - 1)
		if delay > 5*time.Second || delay <= 0 {
			delay = 5 * time.Second
		}
		time.Sleep(delay)
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
