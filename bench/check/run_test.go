package check

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport"
)

func run(t *testing.T, s Spec) *Result {
	t.Helper()
	if s.Reconnect == transport.PolicySpec {
		s.Reconnect = transport.PolicyNever
	}
	r, err := Run(t.Context(), s, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func outcome(t *testing.T, r *Result, kind string) Outcome {
	t.Helper()
	for _, o := range r.Outcomes {
		if o.Kind == kind {
			return o
		}
	}
	t.Fatalf("no %s outcome in %+v", kind, r.Outcomes)
	return Outcome{}
}

// passedButTiming reports whether every outcome passed but the buffering
// detector's, which judges arrival times: on a loaded machine a client
// descheduled for 100 ms reads three events of a 20/s stream at once, and
// the detector cannot tell that from a buffering proxy. The tests about
// buffering (TestRunBuffering…) use a server that really buffers.
func passedButTiming(r *Result) bool {
	for _, o := range r.Outcomes {
		if o.Verdict == Fail && o.Kind != KindBuffering {
			return false
		}
	}
	return len(r.Outcomes) > 0
}

// TestRunDecides: a check stops as soon as its assertions are decided, long
// before its timeout, and records through the load engine: thresholds on
// its counters see every session.
func TestRunDecides(t *testing.T) {
	base := startMock(t)
	r := run(t, Spec{Request: transport.Request{URL: base + "/sse?rate=20"}, Concurrency: 3, Timeout: 30 * time.Second,
		Assert: Assertions{Events: 3, Thresholds: []string{"sessions_started==3", "connects==3", "events>=9", "first_event.count==3"}}})
	if !passedButTiming(r) || r.Mode != ModeSSE || !r.Detected || r.Sessions != 3 {
		t.Fatalf("result %+v", r)
	}
	if r.Duration > 10*time.Second {
		t.Fatalf("took %v: the sessions were not stopped when decided", r.Duration)
	}
	for _, o := range r.Outcomes {
		if o.Kind == KindThreshold && o.Verdict != Pass {
			t.Errorf("%s: %s %s", o.Name, o.Verdict, o.Measured)
		}
	}
	if ev := outcome(t, r, KindEvents); !strings.HasSuffix(ev.Measured, "[slowest of 3 sessions]") {
		t.Errorf("events %q", ev.Measured)
	}
}

// TestRunGzipDecoded: check asks for gzip, decodes it, and still judges the
// events; the mock's gzip fault flushes its compressor per event, so the
// compression detector warns (events on their cadence) and nothing fails.
// The compression verdict reads the same arrival times as the buffering one:
// when a descheduled client read a burst (buffering warns or fails), a failed
// compression verdict is that timing, as in passedButTiming.
func TestRunGzipDecoded(t *testing.T) {
	base := startMock(t)
	r := run(t, Spec{Request: transport.Request{URL: base + "/sse?rate=20&fault=gzip"}})
	bv := outcome(t, r, KindBuffering).Verdict
	burst := bv == Warn || bv == Fail
	for _, o := range r.Outcomes {
		want := Pass
		if o.Kind == KindCompression {
			want = Warn
			if burst && o.Verdict == Fail {
				t.Logf("compression failed on a burst this client read late (buffering: %s): timing, not judged", outcome(t, r, KindBuffering).Measured)
				continue
			}
		}
		if o.Kind == KindBuffering {
			continue // timing: see passedButTiming
		}
		if o.Verdict != want {
			t.Errorf("%s: %s %s; %s", o.Kind, o.Verdict, o.Measured, o.Reason)
		}
	}
}

// TestRunDetection: an answer that is neither a stream nor JSON is judged
// as a broken stream, so its content type fails; an error answer leaves the
// mode undetected.
func TestRunDetection(t *testing.T) {
	base := startMock(t)
	r := run(t, Spec{Request: transport.Request{URL: base + "/"}})
	if ct := outcome(t, r, KindContentType); r.Mode != ModeSSE || ct.Verdict != Fail || !strings.HasPrefix(ct.Measured, "text/html") {
		t.Fatalf("mode %q, content type %+v", r.Mode, ct)
	}
	r = run(t, Spec{Request: transport.Request{URL: base + "/sse?fault=status:404"}})
	if st := outcome(t, r, KindStatus); r.Mode != "" || st.Verdict != Fail || st.Measured != "404 Not Found" {
		t.Fatalf("mode %q, status %+v", r.Mode, st)
	}
}

// TestRunUnreachable: nothing listening is one reach failure, whatever the
// mode, and the Result says Unreachable.
func TestRunUnreachable(t *testing.T) {
	for _, s := range []Spec{
		{Request: transport.Request{URL: "http://127.0.0.1:1/sse"}},
		{Request: transport.Request{URL: "http://127.0.0.1:1/sse"}, Mode: ModeSSE, Concurrency: 2},
		{Request: transport.Request{URL: "http://127.0.0.1:1/v1/chat/completions"}, Mode: ModeAI},
		{Request: transport.Request{URL: "ws://127.0.0.1:1/ws"}},
	} {
		r := run(t, s)
		if !r.Unreachable || r.Passed() || len(r.Outcomes) != 1 || r.Outcomes[0].Kind != KindReach || !strings.Contains(r.Outcomes[0].Measured, "conn_refused") {
			t.Errorf("%s %s: %+v", s.Mode, s.Request.URL, r)
		}
	}
}

// TestRunInterrupted: the caller's context ending (Ctrl-C) stops the check
// with what it decided, marked Interrupted.
func TestRunInterrupted(t *testing.T) {
	base := startMock(t)
	ctx, cancel := context.WithCancel(t.Context())
	answered := make(chan struct{})
	rt := &notify{RoundTripper: transport.NewHTTPClient(transport.HTTPOptions{}).Transport, answered: answered}
	done := make(chan *Result)
	go func() {
		r, _ := Run(ctx, Spec{Request: transport.Request{URL: base + "/sse?rate=0"}, Reconnect: transport.PolicyNever}, Deps{Transport: rt})
		done <- r
	}()
	<-answered
	cancel()
	r := <-done
	rt.RoundTripper.(*http.Transport).CloseIdleConnections()
	if !r.Interrupted || outcome(t, r, KindEvents).Verdict != Fail || outcome(t, r, KindStatus).Verdict != Pass {
		t.Fatalf("%+v", r)
	}
}

// notify closes answered after the first response's headers.
type notify struct {
	http.RoundTripper
	answered chan struct{}
	once     sync.Once
}

func (n *notify) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := n.RoundTripper.RoundTrip(r)
	n.once.Do(func() { close(n.answered) })
	return resp, err
}

// TestRunAllTotalTimeout: the checks of a file run at once, and the total
// timeout ends the ones still waiting, without calling it an interruption.
func TestRunAllTotalTimeout(t *testing.T) {
	base := startMock(t)
	specs := []Spec{
		{Name: "a", Request: transport.Request{URL: base + "/sse?rate=0"}, Reconnect: transport.PolicyNever, Assert: Assertions{Events: 1}},
		{Name: "b", Request: transport.Request{URL: base + "/sse?rate=0"}, Reconnect: transport.PolicyNever, Assert: Assertions{Events: 1}},
	}
	rs, err := RunAll(t.Context(), specs, 300*time.Millisecond, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	a, b := rs[0], rs[1]
	if a.Name != "a" || b.Name != "b" || a.Interrupted || b.Interrupted {
		t.Fatalf("%+v %+v", a, b)
	}
	for _, r := range rs {
		if ev := outcome(t, r, KindEvents); ev.Verdict != Fail || !strings.HasPrefix(ev.Measured, "0 events in ") || ev.Want != "≥1 within 30s" {
			t.Errorf("%s: events %+v", r.Name, ev)
		}
	}
	if !b.Start.Before(a.Start.Add(a.Duration)) || !a.Start.Before(b.Start.Add(b.Duration)) {
		t.Errorf("the checks did not overlap: a %v+%v, b %v+%v", a.Start, a.Duration, b.Start, b.Duration)
	}
	if _, err := RunAll(t.Context(), []Spec{{Request: transport.Request{URL: "nope"}}}, 0, Deps{}); err == nil {
		t.Error("RunAll ran a spec that does not validate")
	}
}

// TestRunWithinBoundsHeaderWait: a server that never answers fails a
// check with --within 1s at about 1 s, not at the ttfb timeout (30 s).
func TestRunWithinBoundsHeaderWait(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer srv.Close()
	r := run(t, Spec{Request: transport.Request{URL: srv.URL}, Mode: ModeSSE, Timeout: 60 * time.Second,
		Assert: Assertions{Events: 1, Within: time.Second}})
	if r.Passed() {
		t.Fatalf("passed: %+v", r.Outcomes)
	}
	if r.Duration >= 20*time.Second {
		t.Errorf("took %v: the header wait was not bounded by --within", r.Duration)
	}
}
