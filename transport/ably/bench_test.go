package ably

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/transporttest"
)

// countObserver counts message events and signals each time the count
// reaches a multiple of step.
type countObserver struct {
	n    *atomic.Int64
	step int64
	hit  chan struct{}
	conn chan struct{}
}

func (o countObserver) Connected(*transport.Connect) { o.conn <- struct{}{} }
func (o countObserver) Event(e *transport.Event) {
	if e.Kind == transport.KindMessage && o.n.Add(1)%o.step == 0 {
		o.hit <- struct{}{}
	}
}
func (countObserver) Exchange(*transport.Exchange) {}
func (countObserver) Error(*transport.Error)       {}
func (countObserver) Closed(*transport.Close)      {}

// BenchmarkFanout: one Ably message published over REST to 200 Ably
// subscribers (the package's own Client) on the Handler, per iteration,
// waiting until every subscriber has it: the serve side and the client
// side of load --publish-rate in one process. ns/op is per published
// message; deliveries/s is what the two sides sustain together.
func BenchmarkFanout(b *testing.B) {
	for _, format := range []string{"json", "msgpack"} {
		b.Run(format, func(b *testing.B) {
			const subs = 200
			host, _ := dropServer(b, &Handler{})
			target, err := ParseTarget(fmt.Sprintf("ably+http://%s@%s/fan?format=%s", DefaultKey, host, format))
			if err != nil {
				b.Fatal(err)
			}
			var n atomic.Int64
			obs := countObserver{n: &n, step: subs, hit: make(chan struct{}, 1), conn: make(chan struct{}, subs)}
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for range subs {
				wg.Go(func() { (&Client{Target: target}).Run(ctx, obs) })
			}
			for range subs {
				<-obs.conn
			}
			m := stamped(1)
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				if err := RESTPublish(ctx, nil, target, m); err != nil {
					b.Fatal(err)
				}
				<-obs.hit
			}
			b.ReportMetric(float64(b.N*subs)/time.Since(start).Seconds(), "deliveries/s")
			b.StopTimer()
			cancel()
			wg.Wait()
			http.DefaultClient.CloseIdleConnections()
		})
	}
}

// BenchmarkHeldSubscribers holds 1,000 attached Ably sessions on the
// Handler (in this process) and reports the client's heap and goroutine
// stacks per session, and its goroutines per session: what `rtbench load`
// pays per Ably subscriber, beside the server's own share (measured with
// the sessions and without, the difference reported).
//
//	go test -run '^$' -bench BenchmarkHeldSubscribers -benchtime 1x ./transport/ably/
func BenchmarkHeldSubscribers(b *testing.B) {
	const n = 1000
	host, _ := dropServer(b, &Handler{})
	target, err := ParseTarget("ably+http://" + DefaultKey + "@" + host + "/held")
	if err != nil {
		b.Fatal(err)
	}
	hc := transport.NewHTTPClient(transport.HTTPOptions{})
	transporttest.HeldSessions(b, n, "attached", func(ctx context.Context, obs transport.Observer) {
		(&Client{Target: target, HTTP: hc, Reconnect: transport.Reconnect{Policy: transport.PolicyNever}}).Run(ctx, obs)
	})
}

// BenchmarkDecodeMessageFrame: one MESSAGE frame as serve sends it (JSON),
// through DecodeProtocolMessage (the fast path) and through encoding/json.
//
//	go test -run '^$' -bench BenchmarkDecodeMessageFrame -benchmem ./transport/ably/
func BenchmarkDecodeMessageFrame(b *testing.B) {
	m := (&Message{ID: "3kq9:0", Name: "message", Data: Data{B: []byte(`{"seq":12,"sched_ns":1733400000123456789}`), JSON: true, Set: true}, Timestamp: 1733400000123}).forWire(JSON)
	frame, err := Marshal(&ProtocolMessage{Action: ActionMessage, Channel: "bench", ChannelSerial: "ab12cd34:12", ID: m.ID, Timestamp: m.Timestamp, Messages: []*Message{m}}, JSON)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeProtocolMessage(frame, JSON); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := unmarshal(frame, JSON, new(ProtocolMessage)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
