package check

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport"
)

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func ms(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }

// sseHead is rtbench serve's event-stream answer.
func sseHead() *http.Response {
	return &http.Response{StatusCode: 200, Proto: "HTTP/1.1", ContentLength: -1, TransferEncoding: []string{"chunked"},
		Header: http.Header{"Content-Type": {"text/event-stream; charset=utf-8"}, "Cache-Control": {"no-store"}, "X-Accel-Buffering": {"no"}}}
}

// tick is an event that arrived at arrival ms and was sent at sent ms.
func tick(arrival, sent int) *transport.Event {
	return &transport.Event{Kind: transport.KindMessage, Type: "message", Data: []byte(`{"seq":1}`), At: ms(arrival),
		Stamp: transport.Stamp{SentNS: ms(sent).UnixNano(), HasSent: true}}
}

type want struct {
	kind     string
	verdict  Verdict
	measured string
}

// TestJudge: observations in, the exact outcomes a person reads out, on a
// fixed clock.
func TestJudge(t *testing.T) {
	no := false
	tests := []struct {
		name    string
		s       Spec
		mode    string
		observe func(pr *probe)
		want    []want
		reason  map[string]string // kind → a part of its reason
	}{
		{"sse in real time", spec("http://h/sse", Assertions{Events: 3, Within: 5 * time.Second}), ModeSSE, func(pr *probe) {
			pr.sawResponse(sseHead(), true)
			for i := 1; i <= 3; i++ {
				pr.Event(tick(100*i+1, 100*i))
			}
		}, []want{
			{KindStatus, Pass, "200 OK"}, {KindContentType, Pass, "text/event-stream; charset=utf-8"},
			{KindEvents, Pass, "3 events in 301ms"},
			{KindBuffering, Pass, "no bursts: 3 stamped events sent over 200ms arrived over 200ms"},
			{KindCompression, Pass, "not compressed (Accept-Encoding: gzip was sent)"},
			{KindStreaming, Pass, "chunked, no Content-Length"},
			{KindHeaders, Pass, "Cache-Control: no-store, X-Accel-Buffering: no"},
			{KindUTF8, Pass, "all 3 events are valid UTF-8"},
		}, nil},
		{"a buffering proxy, late events, thin headers", spec("http://h/sse", Assertions{Events: 3, Within: 5 * time.Second, FirstEvent: time.Second}), ModeSSE, func(pr *probe) {
			h := sseHead()
			h.Header.Del("X-Accel-Buffering")
			h.Header.Set("Cache-Control", "max-age=60")
			h.Header.Set("Content-Encoding", "gzip")
			h.ContentLength, h.TransferEncoding = 300, nil
			pr.sawResponse(h, false)
			pr.Event(tick(6000, 2000))
			pr.Event(tick(6001, 4000))
			pr.Event(tick(6001, 6000))
		}, []want{
			{KindStatus, Pass, "200 OK"}, {KindContentType, Pass, "text/event-stream; charset=utf-8"},
			{KindEvents, Fail, "3 events in 6.00s"},
			{KindFirstEvent, Fail, "after 6.00s"},
			{KindBuffering, Fail, "events arrive in bursts: 3 events sent over 4.00s arrived within 1.00ms"},
			{KindCompression, Fail, "Content-Encoding: gzip: the compressor holds events back: 3 events sent over 4.00s arrived within 1.00ms"},
			{KindStreaming, Fail, "Content-Length: 300 on an event stream"},
			{KindHeaders, Warn, "Cache-Control: max-age=60, X-Accel-Buffering: none"},
			{KindUTF8, Pass, "all 3 events are valid UTF-8"},
		}, map[string]string{KindEvents: "too slowly", KindHeaders: "without X-Accel-Buffering: no, and caches and proxies may hold one without Cache-Control: no-cache"}},
		{"a stream that ends early, no match", spec("http://h/sse", Assertions{Events: 3, Within: 5 * time.Second, Expect: []string{"status==done"}}), ModeSSE, func(pr *probe) {
			pr.sawResponse(sseHead(), true)
			pr.Event(tick(100, 100))
			pr.Closed(&transport.Close{At: ms(150), Clean: true})
		}, []want{
			{KindStatus, Pass, "200 OK"}, {KindContentType, Pass, "text/event-stream; charset=utf-8"},
			{KindEvents, Fail, "1 event in 1.00s"},
			{KindExpect, Fail, "no match among 1 event in 1.00s"},
			{KindBuffering, Skip, "not checked"},
			{KindCompression, Pass, "not compressed (Accept-Encoding: gzip was sent)"},
			{KindStreaming, Pass, "chunked, no Content-Length"},
			{KindHeaders, Pass, "Cache-Control: no-store, X-Accel-Buffering: no"},
			{KindUTF8, Pass, "the one event is valid UTF-8"},
		}, map[string]string{KindEvents: "the stream ended", KindExpect: `the last event was {"seq":1}`}},
		{"refused", spec("http://h/sse", Assertions{}), ModeSSE, func(pr *probe) {
			pr.sawResponse(&http.Response{StatusCode: 401, Header: http.Header{"Content-Type": {"application/json"}}, ContentLength: 20}, true)
			pr.Error(&transport.Error{Class: transport.ClassHTTP4xx, Code: 401, Err: errText("http://h/sse answered 401: bad token"), Fatal: true})
		}, []want{
			{KindStatus, Fail, "401 Unauthorized"}, {KindContentType, Skip, "not checked"}, {KindEvents, Skip, "not checked"},
			{KindBuffering, Skip, "not checked"}, {KindCompression, Skip, "not checked"}, {KindStreaming, Skip, "not checked"},
			{KindHeaders, Skip, "not checked"}, {KindUTF8, Skip, "not checked"},
		}, map[string]string{KindStatus: "answered 401: bad token", KindEvents: "the status was 401"}},
		{"an AI stream cut short", Spec{Request: transport.Request{URL: "http://h/v1/messages"}, Mode: ModeAI, Assert: Assertions{TTFT: 200 * time.Millisecond}}, ModeAI, func(pr *probe) {
			pr.sawResponse(sseHead(), true)
			for i := range 5 {
				pr.Event(&transport.Event{Kind: transport.KindToken, Type: "content_block_delta", Data: []byte("tok"), At: ms(250 + 10*i)})
			}
			pr.Exchange(&transport.Exchange{Start: ms(0), First: ms(250), End: ms(400), Format: "anthropic", Tokens: 5, BadChunks: 1})
			pr.Error(&transport.Error{Class: transport.ClassStreamIncomplete, Err: errText("no message_stop"), Fatal: true})
		}, []want{
			{KindStatus, Pass, "200 OK"}, {KindContentType, Pass, "text/event-stream; charset=utf-8"},
			{KindTTFT, Fail, "250ms"},
			{KindComplete, Fail, "ended without message_stop after 5 tokens"},
			{KindCompression, Pass, "not compressed (Accept-Encoding: gzip was sent)"},
			{KindStreaming, Pass, "chunked, no Content-Length"},
			{KindHeaders, Pass, "Cache-Control: no-store, X-Accel-Buffering: no"},
			{KindUTF8, Pass, "all 5 events are valid UTF-8"},
		}, map[string]string{KindComplete: "1 chunk was not valid JSON; clients that wait for message_stop hang"}},
		{"a complete AI stream, terminator not asked", Spec{Request: transport.Request{URL: "http://h/v1/chat/completions"}, Mode: ModeAI, Assert: Assertions{Complete: &no, TTFT: time.Second}}, ModeAI, func(pr *probe) {
			pr.sawResponse(sseHead(), true)
			pr.Event(&transport.Event{Kind: transport.KindToken, Data: []byte("Hi"), At: ms(90)})
		}, []want{
			{KindStatus, Pass, "200 OK"}, {KindContentType, Pass, "text/event-stream; charset=utf-8"},
			{KindTTFT, Pass, "90.0ms"},
			{KindCompression, Pass, "not compressed (Accept-Encoding: gzip was sent)"},
			{KindStreaming, Pass, "chunked, no Content-Length"},
			{KindHeaders, Pass, "Cache-Control: no-store, X-Accel-Buffering: no"},
			{KindUTF8, Pass, "the one event is valid UTF-8"},
		}, nil},
		{"a WebSocket upgrade refused", spec("ws://h/ws", Assertions{Echo: true}), ModeWS, func(pr *probe) {
			pr.sawResponse(&http.Response{StatusCode: 403, Header: http.Header{}}, false)
		}, []want{
			{KindUpgrade, Fail, "403 Forbidden instead of 101"}, {KindEcho, Skip, "not checked"},
			{KindBuffering, Skip, "not checked"}, {KindUTF8, Skip, "not checked"},
		}, map[string]string{KindUpgrade: "forwards the Upgrade and Connection headers"}},
		{"a WebSocket with bad text", spec("ws://h/ws", Assertions{Events: 2, Echo: true}), ModeWS, func(pr *probe) {
			pr.sawResponse(&http.Response{StatusCode: 101, Header: http.Header{}}, false)
			pr.Event(&transport.Event{Kind: transport.KindMessage, Type: "text", Data: []byte("\xff"), At: ms(10)})
			pr.Error(&transport.Error{Class: transport.ClassInvalidUTF8Text, Err: errText("bad")})
			pr.Event(&transport.Event{Kind: transport.KindEcho, RTT: 1500 * time.Microsecond, At: ms(20)})
			pr.Event(&transport.Event{Kind: transport.KindMessage, Type: "binary", Data: []byte{0xff}, At: ms(30)})
		}, []want{
			{KindUpgrade, Pass, "101 Switching Protocols"}, {KindEvents, Pass, "2 events in 30.0ms"},
			{KindEcho, Pass, "echoed in 1.50ms"}, {KindBuffering, Skip, "not checked"},
			{KindUTF8, Fail, "1 of 1 text messages not valid UTF-8"},
		}, map[string]string{KindUTF8: "1007"}},
		{"no response before the timeout", spec("http://h/sse", Assertions{}), ModeSSE, func(pr *probe) {}, []want{
			{KindStatus, Fail, "no response in 1.00s"}, {KindContentType, Skip, "not checked"}, {KindEvents, Skip, "not checked"},
			{KindBuffering, Skip, "not checked"}, {KindCompression, Skip, "not checked"}, {KindStreaming, Skip, "not checked"},
			{KindHeaders, Skip, "not checked"}, {KindUTF8, Skip, "not checked"},
		}, map[string]string{KindStatus: "sent no headers"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := compile(tt.s)
			if err != nil {
				t.Fatal(err)
			}
			p.setMode(tt.mode)
			pr := newProbe(p)
			pr.origin, pr.ran = t0, true
			tt.observe(pr)
			pr.end = ms(1000)
			got := pr.judge(ms(1000))
			if len(got) != len(tt.want) {
				t.Fatalf("%d outcomes, want %d:\n%s", len(got), len(tt.want), dump(got))
			}
			for i, w := range tt.want {
				g := got[i]
				if g.Kind != w.kind || g.Verdict != w.verdict || g.Measured != w.measured {
					t.Errorf("outcome %d: %s %s %q; want %s %s %q", i, g.Kind, g.Verdict, g.Measured, w.kind, w.verdict, w.measured)
				}
				if r, ok := tt.reason[g.Kind]; ok && !strings.Contains(g.Reason, r) {
					t.Errorf("%s reason %q, want it to mention %q", g.Kind, g.Reason, r)
				}
				if g.Verdict == Pass && g.Reason != "" {
					t.Errorf("%s passed with a reason %q", g.Kind, g.Reason)
				}
				if g.Verdict != Pass && g.Reason == "" {
					t.Errorf("%s %s without a reason", g.Kind, g.Verdict)
				}
			}
		})
	}
}

type errText string

func (e errText) Error() string { return string(e) }

func dump(vs []verdict) string {
	var b strings.Builder
	for _, v := range vs {
		b.WriteString(string(v.Verdict) + " " + v.Kind + " " + v.Measured + "; " + v.Reason + "\n")
	}
	return b.String()
}

// TestCombine: several sessions make one outcome: the first failure, else
// the slowest pass, with how many sessions it concerns.
func TestCombine(t *testing.T) {
	p1 := pass(KindEvents, "3 events in 100ms", "≥3 within 5s", 100*time.Millisecond)
	p2 := pass(KindEvents, "3 events in 300ms", "≥3 within 5s", 300*time.Millisecond)
	f := fail(KindEvents, "1 event in 5.00s", "≥3 within 5s", "too slow")
	s := skip(KindEvents, "why")
	tests := []struct {
		vs   []verdict
		want string
		v    Verdict
	}{
		{[]verdict{p1}, "3 events in 100ms", Pass},
		{[]verdict{p1, p2, p1}, "3 events in 300ms [slowest of 3 sessions]", Pass},
		{[]verdict{p1, f, p2}, "1 event in 5.00s [1 of 3 sessions]", Fail},
		{[]verdict{s, p1}, "3 events in 100ms [1 of 2 sessions]", Pass},
		{[]verdict{s, s}, "not checked", Skip},
		{[]verdict{pass(KindStatus, "200 OK", "2xx", 0), pass(KindStatus, "200 OK", "2xx", 0)}, "200 OK [2 of 2 sessions]", Pass},
	}
	for _, tt := range tests {
		o := combine(tt.vs)
		if o.Measured != tt.want || o.Verdict != tt.v {
			t.Errorf("combine: %s %q, want %s %q", o.Verdict, o.Measured, tt.v, tt.want)
		}
	}
}
