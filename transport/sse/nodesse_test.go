package sse

import (
	"bufio"
	"context"
	"encoding/json"
	"mime"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport/transporttest"
)

// TestTutorialStreamMatchesNodePeer checks that GET /api/stream and the
// Node.js server the Next.js tutorial writes (testdata/nodesse/server.js, the
// peer of bench/scripts/serve-node.sh) send the same stream: an event
// stream that opens with "data: connected" and then one
// {"time":<unix ms>,"value":<0..100>} event per ?interval=. The benchmark
// compares the two servers event for event, so they must agree on what an
// event is.
func TestTutorialStreamMatchesNodePeer(t *testing.T) {
	node := transporttest.ScriptPeer(t, "node", filepath.Join("..", "..", "testdata", "nodesse", "server.js"))
	mux := http.NewServeMux()
	mux.Handle("GET /api/stream", &TutorialStream{})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, tc := range []struct{ name, base string }{{"rtbench", srv.URL}, {"node", node}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, tc.base+"/api/stream?interval=20ms", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); resp.StatusCode != http.StatusOK || mt != "text/event-stream" {
				t.Fatalf("status %d, Content-Type %q; want 200 text/event-stream", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			var data []string
			sc := bufio.NewScanner(resp.Body)
			for len(data) < 4 && sc.Scan() {
				if v, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
					data = append(data, v)
				}
			}
			if len(data) < 4 {
				t.Fatalf("read %d data lines (%v), want 4: %v", len(data), data, sc.Err())
			}
			if data[0] != "connected" {
				t.Errorf("first event %q, want connected", data[0])
			}
			before := time.Now().Add(-time.Minute).UnixMilli()
			for _, d := range data[1:] {
				var ev struct {
					Time  *int64   `json:"time"`
					Value *float64 `json:"value"`
				}
				dec := json.NewDecoder(strings.NewReader(d))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&ev); err != nil || ev.Time == nil || ev.Value == nil {
					t.Fatalf("event %q: want {\"time\":ms,\"value\":float} and nothing else (%v)", d, err)
				}
				if *ev.Time < before || *ev.Time > time.Now().UnixMilli() || *ev.Value < 0 || *ev.Value >= 100 {
					t.Errorf("event %q: time not a recent unix ms or value outside [0, 100)", d)
				}
			}
		})
	}
}
