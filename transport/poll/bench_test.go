package poll

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport/pubsub"
)

// discard is a ResponseWriter that keeps nothing, so a benchmark measures
// the handler rather than httptest.ResponseRecorder.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

// SetWriteDeadline is found by http.ResponseController, as on a real server.
func (d *discard) SetWriteDeadline(time.Time) error { return nil }

func bench(b *testing.B, h http.HandlerFunc, r *http.Request) {
	w := &discard{h: make(http.Header)}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h(w, r)
	}
}

func BenchmarkPollTick(b *testing.B) {
	h := &Handler{Epoch: time.Now()}
	bench(b, h.Poll, httptest.NewRequest("GET", "/poll?rate=100&size=256", nil))
}

func BenchmarkPollTick304(b *testing.B) {
	h := &Handler{Epoch: time.Now().Add(-time.Hour)}
	r := httptest.NewRequest("GET", "/poll?rate=0.001", nil) // one tick per 1000 s: seq 3 for the hour
	r.Header.Set("If-None-Match", `"3"`)
	bench(b, h.Poll, r)
}

func BenchmarkMessages(b *testing.B) {
	hub := pubsub.New(pubsub.Options{})
	for range 100 {
		hub.Publish("c", []byte(`{"text":"hello there"}`), 0)
	}
	h := &Handler{Hub: hub}
	r := httptest.NewRequest("GET", "/api/channels/c/messages?since=90", nil)
	r.SetPathValue("channel", "c")
	bench(b, h.Messages, r)
}

func BenchmarkGetJob(b *testing.B) {
	h := &Handler{Jobs: JobOptions{Queued: -1, Duration: time.Hour}}
	j := h.store().add(time.Now().UnixNano(), 0, int64(time.Hour), 10)
	r := httptest.NewRequest("GET", "/api/jobs/"+j.id, nil)
	r.SetPathValue("id", j.id)
	bench(b, h.GetJob, r)
}
