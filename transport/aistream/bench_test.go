package aistream

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport"
)

// discard is a ResponseWriter that flushes and forgets, to measure the
// handlers' own cost. Like a real connection it takes write deadlines (without
// that, http.ResponseController allocates an error on every call).
type discard struct{ h http.Header }

func (d *discard) SetWriteDeadline(time.Time) error { return nil }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}
func (d *discard) Flush()                      {}

// TestPerEventNoAlloc: encoding and writing one token event (the per-chunk
// hot path of each route) allocates nothing once the buffers have grown.
func TestPerEventNoAlloc(t *testing.T) {
	s := New(Options{Stats: new(transport.ServerStats)})
	ev, err := s.openStream(&discard{h: http.Header{}})
	if err != nil {
		t.Fatal(err)
	}
	text := []byte(" throughput latency")
	oa := &openAIEncoder{id: "chatcmpl-x", model: "m", fp: "fp_x", usage: true}
	an := &anthropicEncoder{id: "msg_01x", model: "m"}
	var data, out []byte
	paths := map[string]func(){
		"openai":    func() { ev.send(oa.content(text)) },
		"anthropic": func() { ev.send(an.delta(text)) },
		"generator": func() { data = newGeneratorAt(&gen, data[:0]) },
		"chat": func() {
			data = appendJSONString(append(data[:0], `{"text":`...), text)
			out = append(out[:0], data...)
			ev.send(out)
		},
	}
	for name, f := range paths {
		f() // grow the buffers
		if n := testing.AllocsPerRun(200, f); n != 0 {
			t.Errorf("%s: %v allocations per event, want 0", name, n)
		}
	}
}

var gen = generator{seed: 1}

func newGeneratorAt(g *generator, dst []byte) []byte { return g.next(dst) }

func BenchmarkOpenAIChunk(b *testing.B) {
	e := &openAIEncoder{id: "chatcmpl-Oh6CAIc30XbpfrP3EzLsfFol6t8sD", model: "gpt-4o-mini", fp: "fp_70c0fca938", usage: true}
	text := []byte(" throughput")
	b.ReportAllocs()
	for b.Loop() {
		e.content(text)
	}
}

// BenchmarkStream serves whole streamed answers of 1000 tokens with no
// waiting (TTFT none, 1e6 tokens/s), to a writer that discards: the cost of
// one request and, divided by 1000, of one event.
func BenchmarkStream(b *testing.B) {
	s := New(Options{Tokens: Tokens{TTFT: -1, TPS: MaxTPS, Length: 1000}, Stats: new(transport.ServerStats)})
	for _, rt := range routes {
		b.Run(rt.name, func(b *testing.B) {
			b.ReportAllocs()
			w := &discard{h: http.Header{}}
			for b.Loop() {
				clear(w.h)
				rt.handler(s)(w, newRequest(context.Background(), "/", rt.body))
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/event")
		})
	}
}
