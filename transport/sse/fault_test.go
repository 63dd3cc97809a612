package sse

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rtbench/rtbench/transport/fault"
	"github.com/rtbench/rtbench/transport/pubsub"
)

// flushLog is a ResponseWriter that records what each Flush delivered and
// when (on synctest's fake clock).
type flushLog struct {
	httptest.ResponseRecorder
	pending []byte
	start   time.Time
	flushes []flushed
}

type flushed struct {
	at time.Duration
	b  string
}

func (w *flushLog) Write(p []byte) (int, error) {
	w.pending = append(w.pending, p...)
	return w.ResponseRecorder.Write(p)
}

func (w *flushLog) Flush() {
	if len(w.pending) > 0 {
		w.flushes = append(w.flushes, flushed{time.Since(w.start), string(w.pending)})
		w.pending = w.pending[:0]
	}
}

// run serves target through the fault middleware on a fake clock, one
// second into the tick timeline, and returns the flushes.
func runFault(t *testing.T, target string) (*flushLog, string) {
	var log *flushLog
	synctest.Test(t, func(t *testing.T) {
		h := fault.New(&Handler{Hub: pubsub.New(pubsub.Options{}), Epoch: time.Now()}, fault.Options{})
		time.Sleep(time.Second)
		log = &flushLog{ResponseRecorder: *httptest.NewRecorder(), start: time.Now()}
		h.ServeHTTP(log, httptest.NewRequest("GET", target, nil))
	})
	return log, log.Body.String()
}

const ticks = "/sse?rate=10&count=4&retry=0&heartbeat=0"

// TestFaultFramingExact: line styles, BOMs and close-mid-event change the
// plain stream's bytes exactly as documented, nothing else.
func TestFaultFramingExact(t *testing.T) {
	_, plain := runFault(t, ticks)
	events := strings.SplitAfter(plain, "\n\n")
	tests := []struct{ fault, want string }{
		{"line:lf", plain},
		{"line:cr", strings.ReplaceAll(plain, "\n", "\r")},
		{"line:crlf", strings.ReplaceAll(plain, "\n", "\r\n")},
		{"bom", "\uFEFF" + plain},
		{"bom:2", "\uFEFF\uFEFF" + plain},
		{"close-mid-event:2", events[0] + events[1] + events[2][:len(events[2])/2]},
		{"close-mid-event", events[0][:len(events[0])/2]},
		{"invalid-utf8:4", plain + "data: invalid \xff\xfe utf-8\n\n"[:0]}, // after the last event: never due
		{"invalid-utf8:3", events[0] + events[1] + events[2] + "data: invalid \xff\xfe utf-8\n\n" + events[3]},
		{"oversized:5", "data: xxxxx\n\n" + plain},
	}
	for _, tt := range tests {
		t.Run(tt.fault, func(t *testing.T) {
			_, got := runFault(t, ticks+"&fault="+tt.fault)
			if got != tt.want {
				t.Fatalf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
	// mixed: LF, CR, CRLF in turn.
	_, got := runFault(t, ticks+"&fault=line:mixed")
	if !strings.HasPrefix(got, "id: 11\ndata: ") || !strings.Contains(got, "}\r\r\nid: 12\ndata: ") {
		t.Fatalf("mixed: %q", got)
	}
}

// TestFaultStall: after N events the stream is silent for exactly the stall,
// then the events that fell due come at once.
func TestFaultStall(t *testing.T) {
	log, _ := runFault(t, ticks+"&fault=stall:2:5s")
	if len(log.flushes) != 4 {
		t.Fatalf("%d flushes: %+v", len(log.flushes), log.flushes)
	}
	gap := log.flushes[2].at - log.flushes[1].at
	if gap != 5*time.Second+100*time.Millisecond { // the 100ms tick, then the stall
		t.Fatalf("gap after event 2: %v, want 5.1s", gap)
	}
	if d := log.flushes[3].at - log.flushes[2].at; d != 0 {
		t.Fatalf("event 4 fell due during the stall but came %v after event 3", d)
	}
}

// TestFaultStallUntilGone: without a duration, the stall lasts until the
// client leaves, and the handler then returns.
func TestFaultStallUntilGone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := fault.New(&Handler{Hub: pubsub.New(pubsub.Options{}), Epoch: time.Now()}, fault.Options{})
		ctx, cancel := context.WithCancel(context.Background())
		log := &flushLog{ResponseRecorder: *httptest.NewRecorder(), start: time.Now()}
		done := make(chan struct{})
		go func() {
			h.ServeHTTP(log, httptest.NewRequest("GET", "/sse?rate=10&retry=0&heartbeat=1s&fault=stall:1", nil).WithContext(ctx))
			close(done)
		}()
		time.Sleep(time.Hour)
		synctest.Wait()
		if len(log.flushes) != 1 || !strings.HasPrefix(log.flushes[0].b, "id: ") {
			t.Fatalf("flushes during the stall (heartbeats included): %+v", log.flushes)
		}
		cancel()
		<-done
	})
}

// TestFaultBurst: a buffering proxy: events arrive N per write, the last
// partial burst when the stream ends.
func TestFaultBurst(t *testing.T) {
	log, _ := runFault(t, "/sse?rate=10&count=5&retry=0&heartbeat=0&fault=burst:2")
	var sizes []int
	for _, f := range log.flushes {
		sizes = append(sizes, strings.Count(f.b, "\n\n"))
	}
	if len(sizes) != 3 || sizes[0] != 2 || sizes[1] != 2 || sizes[2] != 1 {
		t.Fatalf("events per flush %v, want [2 2 1]", sizes)
	}
	if log.flushes[1].at-log.flushes[0].at != 200*time.Millisecond {
		t.Fatalf("bursts %v apart, want 200ms", log.flushes[1].at-log.flushes[0].at)
	}
	log, _ = runFault(t, "/sse?rate=10&count=6&retry=0&heartbeat=0&fault=burst:250ms")
	sizes = sizes[:0]
	for _, f := range log.flushes {
		sizes = append(sizes, strings.Count(f.b, "\n\n"))
	}
	if len(sizes) != 2 || sizes[0] != 3 || sizes[1] != 3 { // released at 300ms and 600ms
		t.Fatalf("events per flush %v with burst:250ms, want [3 3]", sizes)
	}
}

// TestNoFaultStream: without a fault the Stream takes no fault path and
// Send allocates nothing.
func TestNoFaultStream(t *testing.T) {
	st, err := NewStream(httptest.NewRecorder(), 0)
	if err != nil || st.f != nil {
		t.Fatalf("%v %v", err, st.f)
	}
	p := bytes.Repeat([]byte("x"), 64)
	if n := testing.AllocsPerRun(100, func() { st.Send(p) }); n != 0 {
		t.Fatalf("%v allocs per Send", n)
	}
	_ = http.StatusOK
}

// gunzip decodes as much of a gzip stream as b holds: a stream flushed per
// event decodes event by event.
func gunzip(t *testing.T, b string) string {
	t.Helper()
	zr, err := gzip.NewReader(strings.NewReader(b))
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("gunzip: %v", err)
	}
	return string(out)
}

// TestFaultEncodings: gzip, no-stream and bare-headers change the headers and
// the encoding, never the events.
func TestFaultEncodings(t *testing.T) {
	_, plain := runFault(t, ticks)
	events := strings.SplitAfter(plain, "\n\n")

	log, got := runFault(t, ticks+"&fault=gzip")
	h := log.Result().Header
	if h.Get("Content-Encoding") != "gzip" || h.Get("Content-Length") != "" || h.Get("X-Accel-Buffering") != "no" {
		t.Fatalf("gzip headers %v", h)
	}
	if g := gunzip(t, got); g != plain {
		t.Fatalf("gzip body decodes to %q, want %q", g, plain)
	}
	// Each flush carries one more event, decodable at once: the compressor
	// is flushed per event, so gzip alone does not buffer.
	var sofar string
	for i, f := range log.flushes {
		sofar += f.b
		if g, want := gunzip(t, sofar), strings.Join(events[:i+1], ""); g != want {
			t.Fatalf("after flush %d: %q, want %q", i+1, g, want)
		}
	}

	for _, tt := range []struct{ fault, want string }{
		{"no-stream", plain},
		{"no-stream:2", events[0] + events[1]},
		{"no-stream,close-mid-event:1", events[0] + events[1][:len(events[1])/2]},
	} {
		log, got = runFault(t, ticks+"&fault="+tt.fault)
		h = log.Result().Header
		if got != tt.want || h.Get("Content-Length") != strconv.Itoa(len(tt.want)) || len(log.flushes) != 1 {
			t.Fatalf("%s: Content-Length %q, %d flushes, body %q; want %d bytes in one: %q", tt.fault, h.Get("Content-Length"), len(log.flushes), got, len(tt.want), tt.want)
		}
		if log.flushes[0].at != time.Duration(strings.Count(tt.want, "id: "))*100*time.Millisecond { // ticks due at 100ms, 200ms …
			t.Fatalf("%s: sent at %v, want with the last event held", tt.fault, log.flushes[0].at)
		}
	}

	log, got = runFault(t, ticks+"&fault=gzip,no-stream")
	h = log.Result().Header
	if h.Get("Content-Length") != strconv.Itoa(len(got)) || h.Get("Content-Encoding") != "gzip" || gunzip(t, got) != plain {
		t.Fatalf("gzip,no-stream: headers %v, body decodes to %q", h, gunzip(t, got))
	}

	log, got = runFault(t, ticks+"&fault=bare-headers")
	h = log.Result().Header
	if got != plain || h.Get("Cache-Control") != "" || h.Get("X-Accel-Buffering") != "" || h.Get("Content-Type") != ContentType {
		t.Fatalf("bare-headers: headers %v, body %q", h, got)
	}
}
