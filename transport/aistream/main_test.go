package aistream

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rtbench/rtbench/transport/transporttest"

	"github.com/rtbench/rtbench/transport"
	"go.uber.org/goleak"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// flush is what a flushRecorder saw at one Flush: the (fake) time and the
// bytes written since the previous flush.
type flush struct {
	at   time.Time
	data string
}

// flushRecorder is an httptest.ResponseRecorder that notes the time and the
// new bytes at every Flush, so a test under synctest sees when each event
// left the handler.
type flushRecorder struct {
	*httptest.ResponseRecorder
	flushes []flush
	seen    int
}

func newFlushRecorder() *flushRecorder {
	return &flushRecorder{ResponseRecorder: httptest.NewRecorder()}
}

func (f *flushRecorder) Flush() {
	b := f.Body.Bytes()
	f.flushes = append(f.flushes, flush{at: time.Now(), data: string(b[f.seen:])})
	f.seen = len(b)
	f.ResponseRecorder.Flush()
}

// events returns the non-empty flushes: one per event, as the handlers flush
// every event on its own.
func (f *flushRecorder) events() []flush {
	var out []flush
	for _, fl := range f.flushes {
		if fl.data != "" {
			out = append(out, fl)
		}
	}
	return out
}

// newRequest builds a POST to target with body and headers ("Name: value").
func newRequest(ctx context.Context, target, body string, headers ...string) *http.Request {
	r := httptest.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ": ")
		r.Header.Set(name, value)
	}
	return r
}

// dump renders a recorded response byte-exactly: status, headers sorted,
// blank line, body.
func dump(rec *httptest.ResponseRecorder) []byte {
	var b bytes.Buffer
	b.WriteString("HTTP " + http.StatusText(rec.Code) + "\n")
	h := rec.Header()
	for _, k := range slices.Sorted(maps.Keys(h)) {
		b.WriteString(k + ": " + strings.Join(h[k], ", ") + "\n")
	}
	b.WriteString("\n")
	b.Write(rec.Body.Bytes())
	return b.Bytes()
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	transporttest.Golden(t, name, got, *update)
}

// serve runs h on r with a flushRecorder and returns it with the time the
// handler took. Under synctest that time is exact.
func serve(h http.HandlerFunc, r *http.Request) (*flushRecorder, time.Duration) {
	rec := newFlushRecorder()
	start := time.Now()
	h(rec, r)
	return rec, time.Since(start)
}

// sseEvent is one parsed event: its type ("" for message) and data.
type sseEvent struct{ event, data string }

// parseEvents splits a stream written by the handlers (LF line endings, one
// data line per event) into events.
func parseEvents(t *testing.T, s string) []sseEvent {
	t.Helper()
	if s == "" {
		return nil
	}
	if !strings.HasSuffix(s, "\n\n") {
		t.Fatalf("stream does not end with a blank line: %q", s)
	}
	var out []sseEvent
	for _, block := range strings.Split(strings.TrimSuffix(s, "\n\n"), "\n\n") {
		var ev sseEvent
		for _, line := range strings.Split(block, "\n") {
			name, value, ok := strings.Cut(line, ": ")
			switch {
			case !ok:
				t.Fatalf("bad line %q in %q", line, block)
			case name == "event":
				ev.event = value
			case name == "data":
				ev.data = value
			default:
				t.Fatalf("unexpected field %q", line)
			}
		}
		out = append(out, ev)
	}
	return out
}

// tokenText returns the text an event carries and whether it is a token
// event at all (OpenAI's role-only delta, usage and finish chunks are not).
func tokenText(t *testing.T, ev sseEvent) (string, bool) {
	t.Helper()
	if ev.data == "[DONE]" {
		return "", false
	}
	var v struct {
		Type    string `json:"type"`
		Text    *string
		Choices []struct {
			Delta struct {
				Role    string  `json:"role"`
				Content *string `json:"content"`
			} `json:"delta"`
		} `json:"choices"`
		Delta struct {
			Text string `json:"text"`
		} `json:"delta"`
	}
	if err := json.Unmarshal([]byte(ev.data), &v); err != nil {
		t.Fatalf("event data %q: %v", ev.data, err)
	}
	switch {
	case v.Text != nil: // /api/chat
		return *v.Text, true
	case v.Type == "content_block_delta": // Anthropic
		return v.Delta.Text, true
	case len(v.Choices) == 1 && v.Choices[0].Delta.Role == "" && v.Choices[0].Delta.Content != nil: // OpenAI
		return *v.Choices[0].Delta.Content, true
	}
	return "", false
}

// goldenCase is one request whose whole response is pinned in
// testdata/<name>.golden.
type goldenCase struct {
	name    string
	target  string // path and query
	body    string
	headers []string
	tok     Tokens // the server's Tokens
	n       int    // output tokens expected
	seed    uint64 // the seed the answer should use (0: tok's)
}

// runGolden serves each case under synctest (so created, IDs and timing are
// fixed) and checks the response byte for byte, the streamed or returned text
// against Tokens.Text, and the handler's duration against Tokens.Generation.
func runGolden(t *testing.T, handler func(*Server) http.HandlerFunc, tests []goldenCase) {
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := New(Options{Tokens: tc.tok})
				rec, took := serve(handler(s), newRequest(t.Context(), tc.target, tc.body, tc.headers...))
				golden(t, tc.name+".golden", dump(rec.ResponseRecorder))
				if rec.Code != http.StatusOK {
					return
				}
				tok := tc.tok
				if tc.seed != 0 {
					tok.Seed = tc.seed
				}
				if want := tok.Generation(tc.n); took != want {
					t.Errorf("handler took %v, want Generation(%d) = %v", took, tc.n, want)
				}
				want := tok.Text(tc.n)
				if len(rec.flushes) == 0 { // not streamed
					if enc := string(appendJSONString(nil, want)); !strings.Contains(rec.Body.String(), enc) {
						t.Errorf("body does not hold the answer %s", enc)
					}
					return
				}
				var got strings.Builder
				for _, ev := range parseEvents(t, rec.Body.String()) {
					if text, ok := tokenText(t, ev); ok {
						got.WriteString(text)
					}
				}
				if got.String() != want {
					t.Errorf("streamed text %q, want %q", got.String(), want)
				}
			})
		})
	}
}

// errorCase is a request a route must refuse with exactly wantBody.
type errorCase struct {
	name     string
	target   string
	body     string
	headers  []string
	tok      Tokens
	status   int
	wantBody string
}

func runErrors(t *testing.T, handler func(*Server) http.HandlerFunc, tests []errorCase) {
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stats := new(transport.ServerStats)
			s := New(Options{Tokens: tc.tok, Stats: stats})
			rec, _ := serve(handler(s), newRequest(context.Background(), "/"+tc.target, tc.body, tc.headers...))
			if rec.Code != tc.status {
				t.Errorf("status %d, want %d", rec.Code, tc.status)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			if got := rec.Body.String(); got != tc.wantBody {
				t.Errorf("body\n%s\nwant\n%s", got, tc.wantBody)
			}
			if !json.Valid(rec.Body.Bytes()) {
				t.Error("error body is not valid JSON")
			}
			if snap := stats.Snapshot(); snap.Events[transport.AIStream] != 0 || snap.Open[transport.AIStream] != 0 {
				t.Errorf("a refused request was counted: %+v", snap)
			}
		})
	}
}
