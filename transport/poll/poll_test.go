package poll

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/pubsub"
)

// In a synctest bubble the clock starts at 2000-01-01T00:00:00Z and only
// moves when every goroutine is blocked, so times below are exact.

func TestPollTicks(t *testing.T) {
	tests := []struct {
		name   string
		at     time.Duration // since the epoch
		target string
		inm    string
		want   int
		seq    uint64
		size   int // of the body; 0: the bare tick
		rate   float64
	}{
		{name: "latest", at: 2500 * time.Millisecond, target: "/poll", want: 200, seq: 2},
		{name: "on the tick", at: 3 * time.Second, target: "/poll", want: 200, seq: 3},
		{name: "before the first tick", at: 999 * time.Millisecond, target: "/poll", want: 200, seq: 0},
		{name: "rate", at: 2500 * time.Millisecond, target: "/poll?rate=10", want: 200, seq: 25, rate: 10},
		{name: "size pads", at: 2500 * time.Millisecond, target: "/poll?size=200", want: 200, seq: 2, size: 200},
		{name: "size below the bare tick", at: 2500 * time.Millisecond, target: "/poll?size=5", want: 200, seq: 2},
		{name: "if-none-match current", at: 2500 * time.Millisecond, target: "/poll", inm: `"2"`, want: 304, seq: 2},
		{name: "if-none-match weak", at: 2500 * time.Millisecond, target: "/poll", inm: `W/"2"`, want: 304, seq: 2},
		{name: "if-none-match star", at: 2500 * time.Millisecond, target: "/poll", inm: `*`, want: 304, seq: 2},
		{name: "if-none-match stale", at: 2500 * time.Millisecond, target: "/poll", inm: `"1"`, want: 200, seq: 2},
		{name: "since current", at: 2500 * time.Millisecond, target: "/poll?since=2", want: 304, seq: 2},
		{name: "since stale", at: 2500 * time.Millisecond, target: "/poll?since=1", want: 200, seq: 2},
		{name: "since ahead", at: 2500 * time.Millisecond, target: "/poll?since=9", want: 200, seq: 2},
		{name: "cache buster ignored", at: 2500 * time.Millisecond, target: "/poll?_=123", want: 200, seq: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				epoch := time.Now()
				stats := new(transport.ServerStats)
				m := mux(&Handler{Epoch: epoch, Stats: stats})
				time.Sleep(tt.at)
				rec := serve(m, req("GET", tt.target, "", "If-None-Match", tt.inm))
				if rec.Code != tt.want {
					t.Fatalf("status %d, want %d: %s", rec.Code, tt.want, rec.Body)
				}
				rate := tt.rate
				if rate == 0 {
					rate = 1
				}
				sched := epoch.Add(time.Duration(float64(tt.seq) * float64(time.Second) / rate))
				hdr := rec.Header()
				if hdr.Get("ETag") != `"`+strconv.FormatUint(tt.seq, 10)+`"` || hdr.Get("Cache-Control") != "no-cache" ||
					hdr.Get("Last-Modified") != sched.UTC().Format(http.TimeFormat) {
					t.Errorf("headers %v, want ETag %d and Last-Modified of %v", hdr, tt.seq, sched)
				}
				var want []byte
				if tt.want == 200 {
					want = transport.AppendTick(nil, tt.seq, sched.UnixNano(), time.Now().UnixNano(), tt.size)
					if hdr.Get("Content-Type") != "application/json" || hdr.Get("Content-Length") != strconv.Itoa(len(want)) {
						t.Errorf("Content-Type %q, Content-Length %q", hdr.Get("Content-Type"), hdr.Get("Content-Length"))
					}
				}
				if got := rec.Body.String(); got != string(want) {
					t.Errorf("body %s, want %s", got, want)
				}
				if tt.size > 0 && rec.Body.Len() != tt.size {
					t.Errorf("body is %d bytes, want %d", rec.Body.Len(), tt.size)
				}
				s := stats.Snapshot()
				if s.Events[transport.Poll] != 1 || s.Bytes[transport.Poll] != int64(len(want)) || s.Open[transport.Poll] != 0 {
					t.Errorf("stats %+v", s)
				}
			})
		})
	}
}

func TestPollJitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		epoch := time.Now()
		m := mux(&Handler{Epoch: epoch})
		tl := transport.NewTimeline(epoch, 1, 900*time.Millisecond)
		time.Sleep(10 * time.Second)
		for range 5 {
			now := time.Now().UnixNano()
			seq := tl.Due(now)
			want := transport.AppendTick(nil, seq, tl.Sched(seq), now, 0)
			rec := serve(m, req("GET", "/poll?jitter=900ms", ""))
			if rec.Body.String() != string(want) {
				t.Errorf("at %v: body %s, want %s", time.Duration(now-epoch.UnixNano()), rec.Body, want)
			}
			time.Sleep(300 * time.Millisecond)
		}
	})
}

// TestPollLongPoll shows a held /poll waking exactly when the next tick is
// due, timing out with 304 when the client's state is still current, and
// answering at once when a newer state exists.
func TestPollLongPoll(t *testing.T) {
	tests := []struct {
		name   string
		at     time.Duration // request time, since the epoch
		target string
		inm    string
		held   time.Duration // how long the request is held
		want   int
		seq    uint64
	}{
		{name: "since current wakes on the next tick", at: 2500 * time.Millisecond, target: "/poll?since=2&wait=10s", held: 500 * time.Millisecond, want: 200, seq: 3},
		{name: "exactly on a tick waits a whole interval", at: 2 * time.Second, target: "/poll?since=2&wait=10s", held: time.Second, want: 200, seq: 3},
		{name: "if-none-match wakes on the next tick", at: 2500 * time.Millisecond, target: "/poll?wait=10s", inm: `"2"`, held: 500 * time.Millisecond, want: 200, seq: 3},
		{name: "no state waits for the next tick", at: 2500 * time.Millisecond, target: "/poll?wait=10s", held: 500 * time.Millisecond, want: 200, seq: 3},
		{name: "stale since answers at once", at: 2500 * time.Millisecond, target: "/poll?since=1&wait=10s", held: 0, want: 200, seq: 2},
		{name: "stale if-none-match waits for more than it", at: 2500 * time.Millisecond, target: "/poll?wait=10s", inm: `"1"`, held: 0, want: 200, seq: 2},
		{name: "timeout unchanged is 304", at: 1 * time.Second, target: "/poll?rate=0.1&since=0&wait=2s", held: 2 * time.Second, want: 304, seq: 0},
		{name: "timeout with if-none-match is 304", at: 1 * time.Second, target: "/poll?rate=0.1&wait=2s", inm: `"0"`, held: 2 * time.Second, want: 304, seq: 0},
		{name: "timeout without state is 200", at: 1 * time.Second, target: "/poll?rate=0.1&wait=2s", held: 2 * time.Second, want: 200, seq: 0},
		{name: "since ahead waits for its tick", at: 2500 * time.Millisecond, target: "/poll?since=4&wait=10s", held: 2500 * time.Millisecond, want: 200, seq: 5},
		{name: "since ahead past the wait is 200", at: 2500 * time.Millisecond, target: "/poll?since=9&wait=1s", held: time.Second, want: 200, seq: 3},
		{name: "wait=0 does not hold", at: 2500 * time.Millisecond, target: "/poll?since=2&wait=0s", held: 0, want: 304, seq: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				epoch := time.Now()
				stats := new(transport.ServerStats)
				m := mux(&Handler{Epoch: epoch, Stats: stats})
				time.Sleep(tt.at)
				begin := time.Now()
				p := start(m, req("GET", tt.target, "", "If-None-Match", tt.inm))
				synctest.Wait()
				if tt.held > 0 {
					if p.answered() {
						t.Fatalf("answered at once: %d %s", p.rec.Code, p.rec.Body)
					}
					if open := stats.Snapshot().Open[transport.Poll]; open != 1 {
						t.Errorf("Open = %d while held, want 1", open)
					}
				}
				rec := p.result()
				if held := p.at.Sub(begin); held != tt.held {
					t.Errorf("held %v, want %v", held, tt.held)
				}
				if rec.Code != tt.want || rec.Header().Get("ETag") != fmt.Sprintf(`"%d"`, tt.seq) {
					t.Errorf("got %d ETag %s, want %d \"%d\"", rec.Code, rec.Header().Get("ETag"), tt.want, tt.seq)
				}
				if tt.want == 200 {
					rate := 1.0
					if tt.target[:11] == "/poll?rate=" {
						rate = 0.1
					}
					sched := epoch.Add(time.Duration(float64(tt.seq) * float64(time.Second) / rate)).UnixNano()
					if want := transport.AppendTick(nil, tt.seq, sched, p.at.UnixNano(), 0); rec.Body.String() != string(want) {
						t.Errorf("body %s, want %s", rec.Body, want)
					}
				}
				if open := stats.Snapshot().Open[transport.Poll]; open != 0 {
					t.Errorf("Open = %d after the answer", open)
				}
			})
		})
	}
}

func TestPollCanceled(t *testing.T) {
	for _, target := range []string{"/poll?since=2&wait=1m", "/poll?channel=c&wait=1m"} {
		t.Run(target, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := mux(&Handler{Epoch: time.Now(), Hub: pubsub.New(pubsub.Options{})})
				time.Sleep(2500 * time.Millisecond)
				ctx, cancel := context.WithCancel(context.Background())
				begin := time.Now()
				p := start(m, req("GET", target, "").WithContext(ctx))
				synctest.Wait()
				cancel()
				rec := p.result()
				if p.at != begin {
					t.Errorf("returned after %v, want at once", p.at.Sub(begin))
				}
				if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" ||
					rec.Body.String() != `{"error":"request ended while waiting: the client went away or the server is shutting down; retry"}` {
					t.Errorf("got %d %v %s", rec.Code, rec.Header(), rec.Body)
				}
			})
		})
	}
}

func TestPollChannel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := pubsub.New(pubsub.Options{})
		m := mux(&Handler{Hub: hub})
		t0 := time.Now()

		// Empty: 200 with seq 0 and "data":null, ETag "0", no Last-Modified.
		rec := serve(m, req("GET", "/poll?channel=c", ""))
		want := fmt.Sprintf(`{"channel":"c","seq":0,"sched_ns":0,"sent_ns":%d,"data":null}`, t0.UnixNano())
		if rec.Code != 200 || rec.Body.String() != want || rec.Header().Get("ETag") != `"0"` || rec.Header().Get("Last-Modified") != "" {
			t.Errorf("empty: %d %v %s, want %s", rec.Code, rec.Header(), rec.Body, want)
		}
		if rec := serve(m, req("GET", "/poll?channel=c", "", "If-None-Match", `"0"`)); rec.Code != 304 || rec.Body.Len() != 0 {
			t.Errorf("empty with If-None-Match: %d %s", rec.Code, rec.Body)
		}

		hub.Publish("c", []byte(`{"n":1}`), 0)
		time.Sleep(time.Second)
		msg, _, _ := hub.Publish("c", []byte(`{"n":2}`), 0)
		time.Sleep(time.Second)
		rec = serve(m, req("GET", "/poll?channel=c", ""))
		want = string(msg.AppendJSON(nil, time.Now().UnixNano()))
		if rec.Code != 200 || rec.Body.String() != want || rec.Header().Get("ETag") != `"2"` ||
			rec.Header().Get("Last-Modified") != t0.Add(time.Second).UTC().Format(http.TimeFormat) {
			t.Errorf("latest: %d %v %s, want %s", rec.Code, rec.Header(), rec.Body, want)
		}
		for _, tc := range []struct {
			target, inm string
			want        int
		}{
			{"/poll?channel=c", `"2"`, 304},
			{"/poll?channel=c", `"1"`, 200},
			{"/poll?channel=c&since=2", "", 304},
			{"/poll?channel=c&since=1", "", 200},
			{"/poll?channel=c&since=1&wait=5s", "", 200}, // newer exists: at once
		} {
			if rec := serve(m, req("GET", tc.target, "", "If-None-Match", tc.inm)); rec.Code != tc.want {
				t.Errorf("%s If-None-Match %s: %d, want %d", tc.target, tc.inm, rec.Code, tc.want)
			}
		}

		// Held: wakes when a message is published, at that instant.
		p := start(m, req("GET", "/poll?channel=c&since=2&wait=10s", ""))
		synctest.Wait()
		time.Sleep(3 * time.Second)
		if p.answered() {
			t.Fatal("answered before a publish")
		}
		msg, _, _ = hub.Publish("c", []byte(`"three"`), 0)
		rec = p.result()
		if rec.Code != 200 || rec.Body.String() != string(msg.AppendJSON(nil, msg.SchedNS)) || p.at.UnixNano() != msg.SchedNS {
			t.Errorf("woken: %d %s at %v, want seq 3 at %v", rec.Code, rec.Body, p.at, time.Unix(0, msg.SchedNS))
		}

		// A client ahead (since=5) sleeps through publishes up to its seq.
		p = start(m, req("GET", "/poll?channel=c&since=4&wait=10s", ""))
		synctest.Wait()
		hub.Publish("c", []byte(`4`), 0)
		synctest.Wait()
		if p.answered() {
			t.Fatalf("woke for seq 4 with since=4: %s", p.rec.Body)
		}
		hub.Publish("c", []byte(`5`), 0)
		if rec := p.result(); rec.Header().Get("ETag") != `"5"` {
			t.Errorf("ahead: woke with %s", rec.Body)
		}

		// Timeout unchanged: 304 after exactly the wait.
		begin := time.Now()
		p = start(m, req("GET", "/poll?channel=c&wait=2s", "", "If-None-Match", `"5"`))
		if rec := p.result(); rec.Code != 304 || p.at.Sub(begin) != 2*time.Second {
			t.Errorf("timeout: %d after %v", rec.Code, p.at.Sub(begin))
		}
	})
}
