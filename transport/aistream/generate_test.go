package aistream

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rtbench/rtbench/transport"
)

// route describes what a streamed answer of each endpoint looks like around
// its token events.
type route struct {
	name    string
	handler func(*Server) http.HandlerFunc
	body    string // a streaming request
	plain   string // a non-streaming request, "" when the route always streams
	lead    int    // events before the first token (sent at once)
	trail   int    // events after the last token
}

var routes = []route{
	{"openai", func(s *Server) http.HandlerFunc { return s.ChatCompletions },
		`{"messages":[{"role":"user","content":"Hi"}],"stream":true}`,
		`{"messages":[{"role":"user","content":"Hi"}]}`, 1, 2},
	{"anthropic", func(s *Server) http.HandlerFunc { return s.Messages },
		`{"max_tokens":1000,"messages":[{"role":"user","content":"Hi"}],"stream":true}`,
		`{"max_tokens":1000,"messages":[{"role":"user","content":"Hi"}]}`, 3, 3},
	{"chat", func(s *Server) http.HandlerFunc { return s.Chat },
		`{"messages":[{"role":"user","content":"Hi"}]}`, "", 0, 1},
}

// TestChunkTiming checks, on the fake clock, that every event leaves the
// handler when the schedule says: lead events at the start, chunk c when its
// last token is due (TTFT + last/TPS, plus jitter), closing events with the
// last chunk.
func TestChunkTiming(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		tok  Tokens
		n    int
		want []time.Duration // send time of each chunk; nil: use ChunkDue (jitter)
	}{
		{Tokens{Length: 5}, 5, []time.Duration{200 * ms, 220 * ms, 240 * ms, 260 * ms, 280 * ms}},
		{Tokens{TTFT: -1, TPS: 10, PerChunk: 3, Length: 7}, 7, []time.Duration{200 * ms, 500 * ms, 600 * ms}},
		{Tokens{TTFT: time.Second, TPS: 2.5, PerChunk: 2, Length: 5}, 5, []time.Duration{1400 * ms, 2200 * ms, 2600 * ms}},
		{Tokens{TTFT: 50 * ms, TPS: 1000, PerChunk: 4, Length: 10}, 10, []time.Duration{53 * ms, 57 * ms, 59 * ms}},
		{Tokens{TTFT: 100 * ms, TPS: 20, Jitter: 80 * ms, Length: 12, Seed: 5}, 12, nil},
		{Tokens{TTFT: 100 * ms, TPS: 50, Jitter: 15 * ms, PerChunk: 2, Length: 9, Seed: 6}, 9, nil},
	}
	for _, rt := range routes {
		for _, tt := range tests {
			name := fmt.Sprintf("%s/ttft=%v,tps=%g,jitter=%v,chunk=%d", rt.name, tt.tok.TTFT, tt.tok.TPS, tt.tok.Jitter, tt.tok.PerChunk)
			t.Run(name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					want := tt.want
					if want == nil {
						for c := range tt.tok.Chunks(tt.n) {
							want = append(want, tt.tok.ChunkDue(c, tt.n))
						}
					}
					start := time.Now()
					rec, took := serve(rt.handler(New(Options{Tokens: tt.tok})), newRequest(t.Context(), "/", rt.body))
					if last := want[len(want)-1]; took != last {
						t.Errorf("handler took %v, want %v", took, last)
					}
					if len(rec.flushes) == 0 || rec.flushes[0].data != "" || !rec.flushes[0].at.Equal(start) {
						t.Fatalf("headers were not flushed first, at once: %+v", rec.flushes)
					}
					evs := rec.events()
					if len(evs) != rt.lead+len(want)+rt.trail {
						t.Fatalf("%d events, want %d lead + %d chunks + %d trailing", len(evs), rt.lead, len(want), rt.trail)
					}
					pieces := tt.tok.Pieces(tt.n)
					p := tt.tok.WithDefaults().PerChunk
					for i, ev := range evs {
						at := ev.at.Sub(start)
						text, isToken := tokenText(t, parseEvents(t, ev.data)[0])
						switch c := i - rt.lead; {
						case c < 0:
							if at != 0 || isToken {
								t.Errorf("lead event %d at %v (token %v), want at 0 without tokens", i, at, isToken)
							}
						case c < len(want):
							wantText := strings.Join(pieces[c*p:min(c*p+p, tt.n)], "")
							if at != want[c] || text != wantText {
								t.Errorf("chunk %d: %q at %v, want %q at %v", c, text, at, wantText, want[c])
							}
						default:
							if at != want[len(want)-1] || isToken {
								t.Errorf("closing event %d at %v (token %v), want at %v", i, at, isToken, want[len(want)-1])
							}
						}
					}
				})
			})
		}
	}
}

// TestCancel ends the request's context mid-answer: the handler must return
// at that very instant (fake clock), having sent exactly the chunks already
// due and no closing events, and the open-stream count must drop back.
func TestCancel(t *testing.T) {
	tok := Tokens{TTFT: 100 * time.Millisecond, TPS: 10, Length: 10}
	for _, rt := range routes {
		for _, streamed := range []bool{true, false} {
			body := rt.body
			if !streamed {
				if body = rt.plain; body == "" {
					continue
				}
			}
			t.Run(fmt.Sprintf("%s/stream=%v", rt.name, streamed), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					stats := new(transport.ServerStats)
					ctx, cancel := context.WithCancel(t.Context())
					defer cancel()
					rec := newFlushRecorder()
					req := newRequest(ctx, "/", body)
					done := make(chan time.Duration)
					go func() {
						start := time.Now()
						rt.handler(New(Options{Tokens: tok, Stats: stats}))(rec, req)
						done <- time.Since(start)
					}()
					time.Sleep(350 * time.Millisecond) // fake time: chunks at 100, 200, 300ms are out
					if open := stats.Snapshot().Open[transport.AIStream]; open != 1 {
						t.Errorf("open streams mid-answer = %d, want 1", open)
					}
					cancel()
					if took := <-done; took != 350*time.Millisecond {
						t.Errorf("handler returned %v after the start, want 350ms (at the cancel)", took)
					}
					if open := stats.Snapshot().Open[transport.AIStream]; open != 0 {
						t.Errorf("open streams after cancel = %d, want 0", open)
					}
					if !streamed {
						if rec.Body.Len() != 0 {
							t.Errorf("a cancelled non-streamed request wrote %q", rec.Body.String())
						}
						return
					}
					if n := len(rec.events()); n != rt.lead+3 {
						t.Errorf("%d events before the cancel, want %d lead + 3 chunks", n, rt.lead)
					}
					if s := stats.Snapshot(); s.Events[transport.AIStream] != int64(rt.lead+3) || s.Bytes[transport.AIStream] != int64(rec.Body.Len()) {
						t.Errorf("stats: %d events, %d bytes; want %d events, %d bytes",
							s.Events[transport.AIStream], s.Bytes[transport.AIStream], rt.lead+3, rec.Body.Len())
					}
				})
			})
		}
	}
}
