package mock

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestBoundsEveryRoute: every rate, interval and duration parameter of every
// route refuses a value past the bounds all routes share (issue 12.2: a tiny
// rate used to overflow to a 1 ns interval and flood) with 400 and one line
// naming the parameter and its bounds; the values at the bounds are taken.
func TestBoundsEveryRoute(t *testing.T) {
	s := New(Config{})
	defer s.cancel()
	const (
		rateFloor  = "a number from 0.001 to"
		interval   = "from 1ms to 1h"
		upToAnHour = "from 0s to 1h"
	)
	tests := []struct {
		method, target string
		header         [2]string
		mention        []string // in the one-line error
	}{
		{"GET", "/sse?rate=1e-10", [2]string{}, []string{"rate", "events per second", rateFloor}},
		{"GET", "/sse?rate=0.0009", [2]string{}, []string{"rate", rateFloor}},
		{"GET", "/sse?rate=1e-300", [2]string{}, []string{"rate", rateFloor}},
		{"GET", "/sse?rate=20000", [2]string{}, []string{"rate", "to 10000"}},
		{"GET", "/sse?heartbeat=1ns", [2]string{}, []string{"heartbeat", interval}},
		{"GET", "/sse?heartbeat=999us", [2]string{}, []string{"heartbeat", interval}},
		{"GET", "/sse?heartbeat=2h", [2]string{}, []string{"heartbeat", interval}},
		{"GET", "/sse?retry=1ns", [2]string{}, []string{"retry", interval}},
		{"GET", "/sse?jitter=2h", [2]string{}, []string{"jitter", upToAnHour}},
		{"GET", "/api/stream?interval=1ns", [2]string{}, []string{"interval", interval}},
		{"GET", "/api/stream?interval=2h", [2]string{}, []string{"interval", interval}},
		{"GET", "/ws?rate=1e-10", [2]string{}, []string{"rate", "ticks per second", rateFloor}},
		{"GET", "/ws?rate=1e-300", [2]string{}, []string{"rate", rateFloor}},
		{"GET", "/ws?jitter=2h", [2]string{}, []string{"jitter", upToAnHour}},
		{"GET", "/poll?rate=1e-10", [2]string{}, []string{"rate", rateFloor}},
		{"GET", "/poll?jitter=2h", [2]string{}, []string{"jitter", upToAnHour}},
		{"GET", "/poll?wait=2m", [2]string{}, []string{"wait", "from 0s to 1m"}},
		{"GET", "/api/channels/c/messages?wait=-1s", [2]string{}, []string{"wait", "from 0s to 1m"}},
		{"POST", "/api/jobs?queued=11m", [2]string{}, []string{"queued", "from 0s to 10m"}},
		{"POST", "/api/jobs?duration=2h", [2]string{}, []string{"duration", upToAnHour}},
		{"POST", "/v1/chat/completions?tps=1e-300", [2]string{}, []string{"tps", "tokens per second", rateFloor}},
		{"POST", "/v1/chat/completions?tps=1e-9", [2]string{}, []string{"tps", rateFloor}},
		{"POST", "/v1/chat/completions", [2]string{"X-RTBench-TPS", "1e-9"}, []string{"X-RTBench-TPS", rateFloor}},
		{"POST", "/v1/chat/completions?ttft=6m", [2]string{}, []string{"ttft", "from 0s to 5m"}},
		{"POST", "/v1/messages?tps=0.0001", [2]string{}, []string{"tps", rateFloor}},
		{"POST", "/v1/messages", [2]string{"X-RTBench-Jitter", "2m"}, []string{"X-RTBench-Jitter", "from 0s to 1m"}},
		{"POST", "/api/chat?tps=1e-9", [2]string{}, []string{"tps", rateFloor}},
		// At the floor the cap on the whole generation (1 h) is what
		// refuses a long answer: computed without overflow.
		{"POST", "/v1/chat/completions?tps=0.001&tokens=100", [2]string{}, []string{"would take", "over the limit of 1h"}},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target+" "+tt.header[0], func(t *testing.T) {
			body := ""
			if tt.method == "POST" {
				body = `{"model":"m","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}`
				if strings.HasPrefix(tt.target, "/api/jobs") {
					body = ""
				}
			}
			// A cancelled context: a request wrongly accepted ends at once
			// (and fails the status check) instead of streaming forever.
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			req := httptest.NewRequestWithContext(ctx, tt.method, tt.target, strings.NewReader(body))
			if body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			if tt.header[0] != "" {
				req.Header.Set(tt.header[0], tt.header[1])
			}
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			got := rec.Body.String()
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", rec.Code, got)
			}
			if strings.Count(strings.TrimSuffix(got, "\n"), "\n") != 0 {
				t.Errorf("body is not one line: %q", got)
			}
			for _, m := range tt.mention {
				if !strings.Contains(got, m) {
					t.Errorf("body %s does not mention %q", got, m)
				}
			}
		})
	}
}
