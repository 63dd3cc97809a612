package poll

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rtbench/rtbench/transport"
)

// newJob creates a job through the handler and returns its path.
func newJob(t *testing.T, m http.Handler, target, body string) string {
	t.Helper()
	rec := serve(m, req("POST", target, body))
	if rec.Code != http.StatusCreated {
		t.Fatalf("POST %s %s: %d %s", target, body, rec.Code, rec.Body)
	}
	return rec.Header().Get("Location")
}

func TestCreateJob(t *testing.T) {
	tests := []struct {
		name, target, body string
		opts               JobOptions
		want               jobSpec
		status             string
	}{
		{name: "defaults", target: "/api/jobs", want: jobSpec{time.Second, 5 * time.Second, 10}, status: "queued-0"},
		{name: "server options", target: "/api/jobs", opts: JobOptions{Queued: 2 * time.Second, Duration: time.Minute, Steps: 3}, want: jobSpec{2 * time.Second, time.Minute, 3}, status: "queued-0"},
		{name: "no queue", target: "/api/jobs", opts: JobOptions{Queued: -1}, want: jobSpec{0, 5 * time.Second, 10}, status: "running-0"},
		{name: "body", target: "/api/jobs", body: `{"queued":"500ms","duration":"2s","steps":4}`, want: jobSpec{500 * time.Millisecond, 2 * time.Second, 4}, status: "queued-0"},
		{name: "body with other fields", target: "/api/jobs", body: ` {"task":"report","steps":2} `, want: jobSpec{time.Second, 5 * time.Second, 2}, status: "queued-0"},
		{name: "empty object", target: "/api/jobs", body: `{}`, want: jobSpec{time.Second, 5 * time.Second, 10}, status: "queued-0"},
		{name: "query", target: "/api/jobs?queued=0s&duration=1m&steps=100", want: jobSpec{0, time.Minute, 100}, status: "running-0"},
		{name: "query and body split", target: "/api/jobs?queued=0s", body: `{"duration":"0s"}`, want: jobSpec{0, 0, 10}, status: "completed-100"},
		{name: "bounds", target: "/api/jobs?queued=10m&duration=1h&steps=1", want: jobSpec{10 * time.Minute, time.Hour, 1}, status: "queued-0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stats := new(transport.ServerStats)
			h := &Handler{Jobs: tt.opts, Stats: stats}
			rec := serve(mux(h), req("POST", tt.target, tt.body))
			if rec.Code != http.StatusCreated {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			loc := rec.Header().Get("Location")
			j := h.store().get(strings.TrimPrefix(loc, "/api/jobs/"), 0)
			if j == nil || !strings.HasPrefix(loc, "/api/jobs/job_") {
				t.Fatalf("Location %q names no job", loc)
			}
			if got := (jobSpec{time.Duration(j.queued), time.Duration(j.duration), int(j.steps)}); got != tt.want {
				t.Errorf("schedule %+v, want %+v", got, tt.want)
			}
			if etag := rec.Header().Get("ETag"); etag != `"`+tt.status+`"` {
				t.Errorf("ETag %s, want %q", etag, tt.status)
			}
			st := j.at(j.created)
			if want := j.appendJSON(nil, st); !bytes.Equal(rec.Body.Bytes(), want) {
				t.Errorf("body %s, want %s", rec.Body, want)
			}
			if s := stats.Snapshot(); s.Events[transport.Poll] != 1 || s.Bytes[transport.Poll] != int64(rec.Body.Len()) {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

// TestJobLifecycle polls a job one nanosecond before and at each state
// change and shows the ETag changing exactly there; the transcript is
// golden.
func TestJobLifecycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &Handler{}
		h.store().key = 1 // a fixed id for the golden file
		m := mux(h)
		t0 := time.Now()
		path := newJob(t, m, "/api/jobs", `{"queued":"1s","duration":"2s","steps":4}`)
		changes := []time.Duration{time.Second, 1500 * time.Millisecond, 2 * time.Second, 2500 * time.Millisecond, 3 * time.Second}
		var out bytes.Buffer
		prev := ""
		get := func() string {
			rec := serve(m, req("GET", path, ""))
			fmt.Fprintf(&out, "+%v %d ETag=%s Last-Modified=%q %s\n", time.Since(t0), rec.Code,
				rec.Header().Get("ETag"), rec.Header().Get("Last-Modified"), rec.Body)
			return rec.Header().Get("ETag")
		}
		prev = get()
		for _, at := range changes {
			time.Sleep(t0.Add(at - 1).Sub(time.Now()))
			if etag := get(); etag != prev {
				t.Errorf("ETag changed to %s 1ns before %v", etag, at)
			}
			time.Sleep(1)
			etag := get()
			if etag == prev {
				t.Errorf("ETag still %s at %v", etag, at)
			}
			if rec := serve(m, req("GET", path, "", "If-None-Match", etag)); rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
				t.Errorf("If-None-Match %s at %v: %d %s", etag, at, rec.Code, rec.Body)
			}
			prev = etag
		}
		golden(t, "job_lifecycle.txt", out.Bytes())
	})
}

// TestJobLongPoll follows a job with ?wait=60s and If-None-Match: each
// request wakes exactly when the schedule changes state.
func TestJobLongPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stats := new(transport.ServerStats)
		m := mux(&Handler{Stats: stats})
		t0 := time.Now()
		path := newJob(t, m, "/api/jobs?queued=1s&duration=1s&steps=3", "")
		etag := `"queued-0"`
		var got []string
		for range 10 {
			p := start(m, req("GET", path+"?wait=60s", "", "If-None-Match", etag))
			synctest.Wait()
			if !p.answered() && stats.Snapshot().Open[transport.Poll] != 1 {
				t.Error("a held request is not counted open")
			}
			rec := p.result()
			etag = rec.Header().Get("ETag")
			got = append(got, fmt.Sprintf("+%v %d %s", p.at.Sub(t0), rec.Code, etag))
			if strings.Contains(etag, "completed") {
				break
			}
		}
		want := []string{`+1s 200 "running-0"`, `+1.333333334s 200 "running-33"`, `+1.666666667s 200 "running-66"`, `+2s 200 "completed-100"`}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("wakes %q\nwant  %q", got, want)
		}
		if open := stats.Snapshot().Open[transport.Poll]; open != 0 {
			t.Errorf("Open = %d after", open)
		}

		// A completed job never changes: no hold, with or without If-None-Match.
		for _, tc := range []struct {
			inm  string
			want int
		}{{etag, 304}, {"", 200}} {
			begin := time.Now()
			p := start(m, req("GET", path+"?wait=60s", "", "If-None-Match", tc.inm))
			if rec := p.result(); rec.Code != tc.want || p.at != begin {
				t.Errorf("completed, If-None-Match %q: %d after %v", tc.inm, rec.Code, p.at.Sub(begin))
			}
		}
	})
}

func TestJobWaitCases(t *testing.T) {
	tests := []struct {
		name   string
		inm    string
		wait   string
		held   time.Duration
		want   int
		etag   string
		cancel bool
	}{
		{name: "timeout unchanged is 304", inm: `"queued-0"`, wait: "2s", held: 2 * time.Second, want: 304, etag: `"queued-0"`},
		{name: "timeout without If-None-Match is 200", wait: "2s", held: 2 * time.Second, want: 200, etag: `"queued-0"`},
		{name: "no If-None-Match waits for a change", wait: "30s", held: 10 * time.Second, want: 200, etag: `"running-0"`},
		{name: "stale If-None-Match answers at once", inm: `"running-50"`, wait: "30s", held: 0, want: 200, etag: `"queued-0"`},
		{name: "weak If-None-Match holds", inm: `W/"queued-0"`, wait: "30s", held: 10 * time.Second, want: 200, etag: `"running-0"`},
		{name: "wait=0s does not hold", inm: `"queued-0"`, wait: "0s", held: 0, want: 304, etag: `"queued-0"`},
		{name: "canceled", inm: `"queued-0"`, wait: "30s", held: 0, want: 503, cancel: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := mux(&Handler{})
				path := newJob(t, m, "/api/jobs?queued=10s", "")
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				begin := time.Now()
				p := start(m, req("GET", path+"?wait="+tt.wait, "", "If-None-Match", tt.inm).WithContext(ctx))
				synctest.Wait()
				if tt.cancel {
					cancel()
				}
				rec := p.result()
				if rec.Code != tt.want || rec.Header().Get("ETag") != tt.etag || p.at.Sub(begin) != tt.held {
					t.Errorf("got %d ETag %s after %v, want %d %s after %v", rec.Code, rec.Header().Get("ETag"), p.at.Sub(begin), tt.want, tt.etag, tt.held)
				}
			})
		})
	}
}

func TestJobStoreBounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mux(&Handler{Jobs: JobOptions{MaxJobs: 2, TTL: time.Minute, Queued: -1, Duration: time.Second}})
		a := newJob(t, m, "/api/jobs", "")
		b := newJob(t, m, "/api/jobs", "")
		c := newJob(t, m, "/api/jobs", "")
		for _, tc := range []struct {
			path string
			want int
		}{{a, 404}, {b, 200}, {c, 200}} {
			if rec := serve(m, req("GET", tc.path, "")); rec.Code != tc.want {
				t.Errorf("%s: %d, want %d (MaxJobs 2 evicts the oldest)", tc.path, rec.Code, tc.want)
			}
		}
		// Completed at +1s, readable until +1m1s.
		time.Sleep(time.Minute + time.Second - 1)
		if rec := serve(m, req("GET", b, "")); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"completed"`) {
			t.Errorf("before the TTL: %d %s", rec.Code, rec.Body)
		}
		time.Sleep(1)
		rec := serve(m, req("GET", b, ""))
		want := `{"error":"no job \"` + strings.TrimPrefix(b, "/api/jobs/") + `\": unknown, evicted, or completed more than 1m0s ago; create one with POST /api/jobs"}`
		if rec.Code != 404 || rec.Body.String() != want {
			t.Errorf("after the TTL: %d %s", rec.Code, rec.Body)
		}
	})
}

// TestJobJitter: with Jitter, each job runs its Duration plus a random
// part of Jitter, spread over the whole range.
func TestJobJitter(t *testing.T) {
	h := &Handler{Jobs: JobOptions{Duration: time.Second, Jitter: time.Second}}
	m := mux(h)
	var lo, hi bool
	for range 200 {
		loc := newJob(t, m, "/api/jobs", "")
		j := h.store().get(strings.TrimPrefix(loc, "/api/jobs/"), 0)
		d := time.Duration(j.duration)
		if d < time.Second || d >= 2*time.Second {
			t.Fatalf("duration %v, want 1s to 2s", d)
		}
		lo, hi = lo || d < 1250*time.Millisecond, hi || d >= 1750*time.Millisecond
	}
	if !lo || !hi {
		t.Errorf("200 jobs' durations did not spread over the jitter (low quarter %v, high quarter %v)", lo, hi)
	}
}

// TestJobEvents: the job's status pushed as SSE: its state at once, one
// event per change in order, the stream ended after completed; a request
// that goes away ends it; an unknown job is 404.
func TestJobEvents(t *testing.T) {
	h := &Handler{Jobs: JobOptions{Queued: -1, Duration: 30 * time.Millisecond, Steps: 2}}
	m := mux(h)
	loc := newJob(t, m, "/api/jobs", "")
	rec := serve(m, req("GET", loc+"/events", ""))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var ids []string
	for _, ev := range strings.Split(strings.TrimSuffix(rec.Body.String(), "\n\n"), "\n\n") {
		id, data, ok := strings.Cut(ev, "\ndata: ")
		if !ok || !strings.HasPrefix(data, `{"id":"job_`) {
			t.Fatalf("event %q", ev)
		}
		ids = append(ids, strings.TrimPrefix(id, "id: "))
	}
	if got := strings.Join(ids, " "); got != "running-0 running-50 completed-100" {
		t.Errorf("events %s, want running-0 running-50 completed-100", got)
	}

	long := newJob(t, m, "/api/jobs?duration=1h", "")
	ctx, cancel := context.WithCancel(context.Background())
	r := req("GET", long+"/events", "").WithContext(ctx)
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- serve(m, r) }()
	cancel()
	if got := <-done; strings.Count(got.Body.String(), "data: ") != 1 {
		t.Errorf("body %q: want the first state only", got.Body)
	}

	if rec := serve(m, req("GET", "/api/jobs/job_0000/events", "")); rec.Code != http.StatusNotFound {
		t.Errorf("unknown job: %d", rec.Code)
	}
}
