package poll

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport"
)

// counter is an Observer that only counts, as the load engine's recorder
// will, and ends the session after n exchanges.
type counter struct {
	n, exchanges, events int
	cancel               context.CancelFunc
}

func (c *counter) Connected(*transport.Connect) {}
func (c *counter) Event(*transport.Event)       { c.events++ }
func (c *counter) Error(*transport.Error)       {}
func (c *counter) Closed(*transport.Close)      {}
func (c *counter) Exchange(*transport.Exchange) {
	if c.exchanges++; c.exchanges == c.n {
		c.cancel()
	}
}

// benchClient runs b.N back-to-back exchanges against h over loopback:
// the cost per poll of the client and the server together.
func benchClient(b *testing.B, h http.Handler, path string) {
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	obs := &counter{n: b.N, cancel: cancel}
	c := &Client{Request: transport.Request{URL: srv.URL + path}, Interval: time.Nanosecond}
	b.ReportAllocs()
	b.ResetTimer()
	if err := c.Run(ctx, obs); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(obs.events)/float64(b.N), "events/op")
}

// BenchmarkClientPoll304: a conditional poll of an unchanged state.
func BenchmarkClientPoll304(b *testing.B) {
	benchClient(b, mux(&Handler{Epoch: time.Now()}), "/poll?rate=0.001")
}

// BenchmarkClientPollChange: every poll is a new state (ETag changes).
func BenchmarkClientPollChange(b *testing.B) {
	var n atomic.Uint64
	body := make([]byte, 0, 256)
	benchClient(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seq := n.Add(1)
		w.Header().Set("ETag", `"`+strconv.FormatUint(seq, 10)+`"`)
		b := transport.AppendTick(body[:0], seq, 1, 2, 200)
		w.Write(b)
	}), "/")
}

// BenchmarkClientMessagesPage: reading a messages page into events, the
// client's per-message work, without the network.
func BenchmarkClientMessagesPage(b *testing.B) {
	page, err := os.ReadFile("testdata/messages.json")
	if err != nil {
		b.Fatal(err)
	}
	obs := &counter{n: -1}
	s := &session{c: &Client{}, t: &target{}, body: page, sessionState: sessionState{obs: obs}}
	b.ReportAllocs()
	b.SetBytes(int64(len(page)))
	for b.Loop() {
		s.body = page
		s.state("", "", time.Time{})
	}
	b.ReportMetric(float64(obs.events)/float64(b.N), "events/op")
}
