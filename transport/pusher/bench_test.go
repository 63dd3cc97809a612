package pusher_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/mock"
	"github.com/rtbench/rtbench/transport/mock/mocktest"
	"github.com/rtbench/rtbench/transport/pusher"
	"github.com/rtbench/rtbench/transport/transporttest"
)

// BenchmarkHeldSubscribers holds 1,000 subscribed Pusher sessions on serve
// (in this process) and reports the client's heap and goroutine stacks per
// session, and its goroutines per session: what `rtbench load` pays per
// Pusher subscriber, beside the server's own share.
//
//	go test -run '^$' -bench BenchmarkHeldSubscribers -benchtime 1x ./transport/pusher/
func BenchmarkHeldSubscribers(b *testing.B) {
	const n = 1000
	_, base := mocktest.Start(b, mock.Config{PusherApps: []pusher.App{testApp}})
	tg, err := pusher.ParseTarget("pusher://" + testApp.Key + "@" + strings.TrimPrefix(base, "http://") + "/held")
	if err != nil {
		b.Fatal(err)
	}
	hc := transport.NewHTTPClient(transport.HTTPOptions{})
	transporttest.HeldSessions(b, n, "subscribed", func(ctx context.Context, obs transport.Observer) {
		(&pusher.Client{Target: tg, HTTP: hc, Reconnect: transport.Reconnect{Policy: transport.PolicyNever}}).Run(ctx, obs)
	})
}

// BenchmarkDecodeFrame: one hub message as serve sends it to a subscriber,
// through Decode (the fast path) and through encoding/json (decodeSlow's
// way): the per-frame cost of a Pusher subscriber.
//
//	go test -run '^$' -bench BenchmarkDecodeFrame -benchmem ./transport/pusher/
func BenchmarkDecodeFrame(b *testing.B) {
	frame := []byte(`{"event":"rtbench","channel":"bench","data":"{\"seq\":12,\"sched_ns\":1733400000123456789,\"text\":\"hello\"}","seq":12,"sched_ns":1733400000123456789,"sent_ns":1733400000123556789}`)
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if f, err := pusher.Decode(frame); err != nil || f.Seq != 12 {
				b.Fatal(f, err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(frame, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
}
