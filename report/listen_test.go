package report

import (
	"bytes"
	"flag"
	"testing"
	"time"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/transport/transporttest"

	"github.com/rtbench/rtbench/transport"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	transporttest.Golden(t, name, got, *update)
}

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// session replays a fixed set of observations: an SSE stream with latency
// stamps, a long multi-line event, a reconnect, an AI answer, a pong and
// errors.
func session(o transport.Observer) {
	o.Connected(&transport.Connect{Start: at(0), Headers: at(12), Status: 200, Proto: "HTTP/1.1", URL: "http://127.0.0.1:8080/sse"})
	for i, ms := range []int{500, 1500} {
		seq := uint64(41 + i)
		data := []byte(`{"seq":` + string(rune('1'+i)) + `}`)
		o.Event(&transport.Event{Kind: transport.KindMessage, Type: "message", ID: "4" + string(rune('1'+i)), Data: data, Size: 40,
			FirstByte: at(ms - 1), At: at(ms), Stamp: transport.Stamp{Seq: seq, HasSeq: true, SchedNS: at(ms - 2).UnixNano(), HasSched: true, SentNS: at(ms).Add(-300 * time.Microsecond).UnixNano(), HasSent: true}})
	}
	long := bytes.Repeat([]byte("lorem ipsum "), 20)
	o.Event(&transport.Event{Kind: transport.KindMessage, Type: "update", Data: append([]byte("line one\nline two "), long...), At: at(1700)})
	o.Error(&transport.Error{Class: transport.ClassIdleTimeout, Err: errIdle, At: at(2000)})
	o.Closed(&transport.Close{At: at(2000), Reconnect: true})
	o.Connected(&transport.Connect{Attempt: 1, Start: at(2100), Headers: at(2105), Status: 200, Proto: "HTTP/1.1", URL: "http://127.0.0.1:8080/sse"})
	for i, tok := range []string{"Hello", ",", " world", "."} {
		o.Event(&transport.Event{Kind: transport.KindToken, Type: "delta", Data: []byte(tok), At: at(2200 + 20*i)})
	}
	o.Exchange(&transport.Exchange{Format: "openai", Start: at(2100), First: at(2200), End: at(2300), Tokens: 4, Chunks: 4, Complete: true})
	o.Event(&transport.Event{Kind: transport.KindPong, RTT: 1500 * time.Microsecond, At: at(2400)})
	o.Error(&transport.Error{Class: transport.ClassHTTP5xx, Code: 503, Err: errUnavailable, At: at(2500), Fatal: true})
	o.Closed(&transport.Close{At: at(2500), Code: 1011, Reason: "internal error"})
}

type textErr string

func (e textErr) Error() string { return string(e) }

const (
	errIdle        = textErr("nothing arrived for 1s")
	errUnavailable = textErr("HTTP 503 Service Unavailable: {\"error\":\"down\"}")
)

func TestListenFormats(t *testing.T) {
	tests := []struct {
		name string
		o    ListenOptions
	}{
		{"tty", ListenOptions{Format: FormatTTY, Width: 80, Notices: true}},
		{"tty-color", ListenOptions{Format: FormatTTY, Width: 80, Color: true, Notices: true}},
		{"tty-full", ListenOptions{Format: FormatTTY, Width: 80, Full: true}},
		{"tty-narrow", ListenOptions{Format: FormatTTY, Width: 40}},
		{"plain", ListenOptions{Format: FormatPlain}},
		{"json", ListenOptions{Format: FormatJSON}},
		{"quiet", ListenOptions{Format: FormatPlain, Quiet: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			tt.o.Start = t0
			l := NewListener(&out, &errOut, tt.o)
			session(l)
			l.Finish()
			golden(t, "listen/"+tt.name+".out", out.Bytes())
			golden(t, "listen/"+tt.name+".err", errOut.Bytes())
		})
	}
}

func TestListenSummary(t *testing.T) {
	tests := []struct {
		name    string
		pattern transport.Pattern
	}{
		{"sse", transport.SSE},
		{"ai", transport.AIStream},
		{"poll", transport.Poll},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tally := &bench.Tally{Start: t0}
			session(tally)
			if tt.pattern == transport.Poll {
				tally.Last.Format = ""
			}
			var b bytes.Buffer
			ListenSummary(&b, tally, tt.pattern, at(3000))
			golden(t, "summary/"+tt.name+".txt", b.Bytes())
		})
	}
}

func TestCut(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"hello", 5, "hello"},
		{"hello!", 5, "hell…"},
		{"héllo wörld", 6, "héllo…"},
		{"", 3, ""},
	}
	for _, tt := range tests {
		if got := cut(tt.in, tt.n); got != tt.want {
			t.Errorf("cut(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}
