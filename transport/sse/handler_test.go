package sse

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rtbench/rtbench/transport/transporttest"

	"go.uber.org/goleak"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/pubsub"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	transporttest.Golden(t, name, got, *update)
}

// TestFraming checks the exact bytes of each SSE route. Under synctest the
// clock is fake, so timestamps and timing are fixed.
func TestFraming(t *testing.T) {
	tests := []struct {
		name    string
		target  string
		lastID  string
		publish int           // messages published to channel c first
		cancel  time.Duration // end the request after this long (0 = runs to count)
	}{
		{name: "ticks", target: "/sse?rate=10&count=3"},
		{name: "ticks-padded", target: "/sse?rate=2&count=2&size=120"},
		{name: "ticks-jitter", target: "/sse?rate=100&count=4&jitter=5ms&retry=0"},
		{name: "ticks-resume", target: "/sse?rate=10&count=3", lastID: "4"},
		{name: "heartbeat", target: "/sse?rate=0&heartbeat=1s", cancel: 3500 * time.Millisecond},
		{name: "slow-heartbeat-between-ticks", target: "/sse?rate=0.5&count=2&heartbeat=1200ms"},
		// Events every 2 s, heartbeats due 1.6 s after the last write: a
		// ping between every two events, so the stream is never silent for
		// longer than the heartbeat (a ticker of its own, at 2.6 s, 4.2 s,
		// 5.8 s …, left 2 s silences).
		{name: "heartbeat-within-every-gap", target: "/sse?rate=0.5&count=4&heartbeat=1600ms&retry=0"},
		{name: "channel-replay", target: "/sse?channel=c&count=3", lastID: "1", publish: 4},
		{name: "tutorial-stream", target: "/api/stream", cancel: 3500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				hub := pubsub.New(pubsub.Options{})
				var stats transport.ServerStats
				mux := http.NewServeMux()
				mux.Handle("/sse", &Handler{Hub: hub, Stats: &stats, Epoch: time.Now()})
				mux.Handle("/api/stream", &TutorialStream{Stats: &stats})
				time.Sleep(time.Second) // start one second into the timeline (fake clock)
				for i := range tt.publish {
					hub.Publish("c", fmt.Appendf(nil, `{"n":%d}`, i+1), 0)
				}
				ctx := context.Background()
				if tt.cancel > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tt.cancel)
					defer cancel()
				}
				req := httptest.NewRequestWithContext(ctx, "GET", tt.target, nil)
				if tt.lastID != "" {
					req.Header.Set("Last-Event-ID", tt.lastID)
				}
				rec := httptest.NewRecorder()
				mux.ServeHTTP(rec, req)
				if rec.Code != 200 {
					t.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
				golden(t, "framing/"+tt.name+".txt", rec.Body.Bytes())
				if snap := stats.Snapshot(); snap.Open[transport.SSE] != 0 {
					t.Errorf("open connections after the handler returned: %d", snap.Open[transport.SSE])
				}
			})
		})
	}
}

func TestHeaders(t *testing.T) {
	srv := httptest.NewServer(&Handler{Hub: pubsub.New(pubsub.Options{}), Epoch: time.Now()})
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"?rate=1000&count=1", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	want := map[string]string{
		"Content-Type":      "text/event-stream; charset=utf-8",
		"Cache-Control":     "no-store",
		"X-Accel-Buffering": "no",
		"Content-Encoding":  "",
		"Content-Length":    "",
	}
	for k, v := range want {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if resp.ContentLength != -1 || len(resp.TransferEncoding) == 0 {
		t.Errorf("want a streamed (chunked) body, got Content-Length %d, Transfer-Encoding %v", resp.ContentLength, resp.TransferEncoding)
	}
}

func TestBadParams(t *testing.T) {
	h := &Handler{Hub: pubsub.New(pubsub.Options{}), Epoch: time.Now(), MaxRate: 100}
	tests := []struct{ query, mention string }{
		{"rate=fast", "rate"},
		{"rate=-1", "rate"},
		{"rate=1000", "rate"},
		{"rate=NaN", "rate"},
		{"count=-3", "count"},
		{"size=99999999", "size"},
		{"jitter=5", "jitter"},
		{"heartbeat=2h", "heartbeat"},
		{"retry=soon", "retry"},
		{"channel=a%20b", "channel"},
		{"channel=c&rate=5", "cannot be combined"},
		{"spread=5", "spread"},
		{"spread=2h", "spread"},
		{"rate=0&spread=1s", "shifts ticks"},
		{"channel=c&spread=1s", "shifts ticks"},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/sse?"+tt.query, nil))
		if rec.Code != 400 || rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s: status %d %s, want 400 JSON", tt.query, rec.Code, rec.Header().Get("Content-Type"))
		}
		if !strings.Contains(rec.Body.String(), tt.mention) {
			t.Errorf("%s: error %q does not mention %q", tt.query, rec.Body.String(), tt.mention)
		}
	}
}

// event is what the test reader sees of one event.
type event struct {
	id   uint64
	data string
}

// readEvents reads n events of the simple shape rtbench's own handler
// writes ("id: N" then one "data:" line). It is deliberately not the client
// parser under test elsewhere.
func readEvents(t *testing.T, r *bufio.Reader, n int) []event {
	t.Helper()
	var out []event
	var cur event
	for len(out) < n {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("after %d events: %v", len(out), err)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case strings.HasPrefix(line, "id: "):
			cur.id, _ = strconv.ParseUint(line[4:], 10, 64)
		case strings.HasPrefix(line, "data: "):
			cur.data = line[6:]
		case line == "" && cur.data != "":
			out = append(out, cur)
			cur = event{}
		}
	}
	return out
}

func open(t *testing.T, ctx context.Context, url, lastID string) (*bufio.Reader, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		cancel()
		t.Fatalf("status %d", resp.StatusCode)
	}
	return bufio.NewReader(resp.Body), func() { cancel(); resp.Body.Close() }
}

// TestSpread: with spread, each connection's ticks keep one offset of its
// own below the spread (here, a whole interval) before the server-wide
// timeline, and a resume on a new connection, a new phase, still has no gap
// and no duplicate.
func TestSpread(t *testing.T) {
	epoch := time.Now()
	srv := httptest.NewServer(&Handler{Epoch: epoch, Retry: -1})
	defer srv.Close()
	base := transport.NewTimeline(epoch, 500, 0)
	const q = "?rate=500&spread=2ms"
	offsets := func(evs []event) (off int64) {
		t.Helper()
		for i, e := range evs {
			var st struct {
				Seq     uint64 `json:"seq"`
				SchedNS int64  `json:"sched_ns"`
			}
			if err := json.Unmarshal([]byte(e.data), &st); err != nil || st.Seq != e.id {
				t.Fatalf("payload %q: want seq %d", e.data, e.id)
			}
			o := base.Sched(st.Seq) - st.SchedNS
			if o < 0 || o >= int64(2*time.Millisecond) {
				t.Fatalf("seq %d: sched_ns %v before the server-wide timeline's, want [0, 2ms)", st.Seq, time.Duration(o))
			}
			if i > 0 && o != off {
				t.Fatalf("seq %d: offset %v, the connection's earlier ticks had %v", st.Seq, time.Duration(o), time.Duration(off))
			}
			off = o
		}
		return off
	}
	r, closeFn := open(t, t.Context(), srv.URL+q, "")
	first := readEvents(t, r, 10)
	closeFn()
	offsets(first)
	last := first[len(first)-1].id
	r, closeFn = open(t, t.Context(), srv.URL+q, strconv.FormatUint(last, 10))
	defer closeFn()
	next := readEvents(t, r, 20)
	offsets(next)
	for i, e := range next {
		if e.id != last+1+uint64(i) {
			t.Fatalf("resumed after %d on a new phase: event %d has id %d, want %d", last, i, e.id, last+1+uint64(i))
		}
	}
}

// TestResume disconnects a real client mid-stream and resumes it with
// Last-Event-ID: the resumed stream continues at the next seq, with no gap
// and no duplicate, for ticks and for channel messages.
func TestResume(t *testing.T) {
	hub := pubsub.New(pubsub.Options{})
	srv := httptest.NewServer(&Handler{Hub: hub, Epoch: time.Now(), Retry: -1})
	defer srv.Close()
	ctx := t.Context()

	t.Run("ticks", func(t *testing.T) {
		r, closeFn := open(t, ctx, srv.URL+"?rate=500", "")
		first := readEvents(t, r, 10)
		closeFn()
		for i := 1; i < len(first); i++ {
			if first[i].id != first[i-1].id+1 {
				t.Fatalf("ids not consecutive: %v", first)
			}
		}
		last := first[len(first)-1].id
		// Let the timeline run on while disconnected: those ticks must be
		// replayed, not skipped.
		time.Sleep(50 * time.Millisecond) // lets the schedule advance; not synchronisation
		r, closeFn = open(t, ctx, srv.URL+"?rate=500", strconv.FormatUint(last, 10))
		defer closeFn()
		next := readEvents(t, r, 40)
		for i, e := range next {
			if e.id != last+1+uint64(i) {
				t.Fatalf("resumed at %d: event %d has id %d, want %d", last, i, e.id, last+1+uint64(i))
			}
			var st struct {
				Seq     uint64 `json:"seq"`
				SchedNS int64  `json:"sched_ns"`
				SentNS  int64  `json:"sent_ns"`
			}
			if err := json.Unmarshal([]byte(e.data), &st); err != nil || st.Seq != e.id || st.SchedNS > st.SentNS {
				t.Fatalf("payload %q: want seq %d and sched_ns <= sent_ns", e.data, e.id)
			}
		}
	})

	t.Run("channel", func(t *testing.T) {
		r, closeFn := open(t, ctx, srv.URL+"?channel=resume", "")
		for i := range 5 {
			hub.Publish("resume", fmt.Appendf(nil, "%d", i+1), 0)
		}
		got := readEvents(t, r, 2)
		closeFn()
		for i := range 3 {
			hub.Publish("resume", fmt.Appendf(nil, "%d", i+6), 0)
		}
		r, closeFn = open(t, ctx, srv.URL+"?channel=resume", strconv.FormatUint(got[1].id, 10))
		defer closeFn()
		rest := readEvents(t, r, 6)
		for i, e := range append(got, rest...) {
			want := fmt.Sprintf(`"data":%d}`, i+1)
			if e.id != uint64(i+1) || !strings.HasSuffix(e.data, want) {
				t.Fatalf("event %d = %+v, want id %d ending %s", i, e, i+1, want)
			}
		}
	})
}

func TestAppendEventLines(t *testing.T) {
	tests := []struct{ id, event, data, want string }{
		{"", "", "x", "data: x\n\n"},
		{"7", "tick", "a\nb\r\nc\rd", "id: 7\nevent: tick\ndata: a\ndata: b\ndata: c\ndata: d\n\n"},
		{"", "", "", "data: \n\n"},
		{"", "", "end\n", "data: end\ndata: \n\n"},
		{"a\nb", "e\rv", "x", "id: ab\nevent: ev\ndata: x\n\n"},
	}
	for _, tt := range tests {
		if got := string(AppendEvent(nil, tt.id, tt.event, []byte(tt.data))); got != tt.want {
			t.Errorf("AppendEvent(%q, %q, %q) = %q, want %q", tt.id, tt.event, tt.data, got, tt.want)
		}
	}
}
