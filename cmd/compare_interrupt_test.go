package cmd

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/transport/mock"
)

// TestCompareInterruptedCutOff: a compare interrupted (Ctrl-C) while
// polling subscribers had not yet polled the latest updates does not
// report those updates as lost: they were cut off on their way.
func TestCompareInterruptedCutOff(t *testing.T) {
	base := startMock(t, mock.Config{})
	target, _ := url.Parse(base)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	// In front of rtbench serve: the 5th publish interrupts the run, as a
	// Ctrl-C would (its answer may not reach the publisher), with the
	// subscribers polling every 2 s.
	var published atomic.Int64
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxy.ServeHTTP(w, r)
		if r.URL.Path == "/api/publish" && published.Add(1) == 5 {
			cancel()
		}
	}))
	defer front.Close()
	env, stdout, stderr := TestEnv()
	code := Run(ctx, env, BuildInfo{}, []string{"compare", "--json", "--target", front.URL, "--patterns", "poll",
		"--poll-interval", "2s", "-c", "5", "--updates", "5", "-d", "20s"})
	if code != ExitInterrupted {
		t.Fatalf("exit %d, want 130: %s", code, stderr)
	}
	var r bench.CompareResult
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil || len(r.Patterns) == 0 {
		t.Fatalf("decoding the JSON: %v\n%s", err, stdout)
	}
	p := r.Patterns[0]
	if !r.Interrupted || p.Published < 4 || p.Lost != 0 || p.CutOff == 0 || p.Delivered+p.CutOff != p.Expected {
		t.Errorf("interrupted %v, published %d, expected %d, delivered %d, lost %d, cut off %d: want nothing lost, the rest cut off",
			r.Interrupted, p.Published, p.Expected, p.Delivered, p.Lost, p.CutOff)
	}
}
