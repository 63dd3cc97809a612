package poll

import (
	"net/http"
	"strings"
	"testing"

	"github.com/rtbench/rtbench/transport/pubsub"
)

// TestBadRequests shows that every route answers bad input with 400 and a
// message naming the parameter, the accepted form and what was sent.
func TestBadRequests(t *testing.T) {
	h := &Handler{Hub: pubsub.New(pubsub.Options{}), MaxRate: 100}
	m := mux(h)
	tests := []struct {
		method, target, body string
		want                 int
		msg                  string
	}{
		// /poll
		{"GET", "/poll?foo=1", "", 400, `unknown query parameter \"foo\"; this route accepts rate, jitter, size, since, wait, channel`},
		{"GET", "/poll?rate=1&rate=2", "", 400, `rate: given 2 times; send it once`},
		{"GET", "/poll?rate=abc", "", 400, `rate: want ticks per second, a number from 0.001 to 100; got \"abc\"`},
		{"GET", "/poll?rate=0", "", 400, `rate: want ticks per second, a number from 0.001 to 100; got \"0\"`},
		{"GET", "/poll?rate=101", "", 400, `rate: want ticks per second, a number from 0.001 to 100; got \"101\"`},
		{"GET", "/poll?rate=NaN", "", 400, `rate: want ticks per second, a number from 0.001 to 100; got \"NaN\"`},
		{"GET", "/poll?jitter=5", "", 400, `jitter: want a duration from 0s to 1h, such as 50ms; got \"5\"`},
		{"GET", "/poll?jitter=-1s", "", 400, `jitter: want a duration from 0s to 1h, such as 50ms; got \"-1s\"`},
		{"GET", "/poll?size=-1", "", 400, `size: want the payload size in bytes, an integer from 0 to 1048576; got \"-1\"`},
		{"GET", "/poll?size=1048577", "", 400, `size: want the payload size in bytes, an integer from 0 to 1048576; got \"1048577\"`},
		{"GET", "/poll?since=-1", "", 400, `since: want the seq of the last state or message you hold, a non-negative integer like 42 (0 for none); got \"-1\"`},
		{"GET", "/poll?wait=30", "", 400, `wait: want a duration from 0s to 1m, such as 30s; got \"30\"`},
		{"GET", "/poll?wait=61s", "", 400, `wait: want a duration from 0s to 1m, such as 30s; got \"61s\"`},
		{"GET", "/poll?wait=", "", 400, `wait: want a duration from 0s to 1m, such as 30s; got \"\"`},
		{"GET", "/poll?channel=a%20b", "", 400, `channel: want a channel name: 1-128 characters of A-Z a-z 0-9 _ - . :; got \"a b\"`},
		{"GET", "/poll?channel=", "", 400, `channel: want a channel name: 1-128 characters of A-Z a-z 0-9 _ - . :; got \"\"`},
		{"GET", "/poll?channel=c&size=10", "", 400, `size: applies to the tick timeline, not to ?channel=; drop one of them`},
		// messages
		{"GET", "/api/channels/c/messages?after=1", "", 400, `unknown query parameter \"after\"; this route accepts since, wait, limit`},
		{"GET", "/api/channels/c/messages?since=x", "", 400, `since: want the seq of the last state or message you hold, a non-negative integer like 42 (0 for none); got \"x\"`},
		{"GET", "/api/channels/c/messages?wait=1m1s", "", 400, `wait: want a duration from 0s to 1m, such as 30s; got \"1m1s\"`},
		{"GET", "/api/channels/c/messages?limit=0", "", 400, `limit: want the most messages to return, an integer from 1 to 1000; got \"0\"`},
		{"GET", "/api/channels/c/messages?limit=1001", "", 400, `limit: want the most messages to return, an integer from 1 to 1000; got \"1001\"`},
		{"GET", "/api/channels/a%2Fb/messages", "", 400, `channel: want a channel name in the path: 1-128 characters of A-Z a-z 0-9 _ - . :; got \"a/b\"`},
		{"GET", "/api/channels/" + strings.Repeat("x", 129) + "/messages", "", 400, `channel: want a channel name in the path: 1-128 characters of A-Z a-z 0-9 _ - . :; got \"` + strings.Repeat("x", 129) + `\"`},
		// jobs
		{"POST", "/api/jobs?delay=1s", "", 400, `unknown query parameter \"delay\"; this route accepts queued, duration, steps`},
		{"POST", "/api/jobs?queued=11m", "", 400, `queued: want a duration from 0s to 10m, such as 500ms; got \"11m\"`},
		{"POST", "/api/jobs?duration=2", "", 400, `duration: want a duration from 0s to 1h, such as 2s; got \"2\"`},
		{"POST", "/api/jobs?steps=0", "", 400, `steps: want the progress steps, an integer from 1 to 100; got \"0\"`},
		{"POST", "/api/jobs?steps=101", "", 400, `steps: want the progress steps, an integer from 1 to 100; got \"101\"`},
		{"POST", "/api/jobs", `[1]`, 400, `body: want a JSON object like {\"queued\":\"500ms\",\"duration\":\"2s\",\"steps\":4}, or no body; got \"[1]\"`},
		{"POST", "/api/jobs", `null`, 400, `body: want a JSON object like {\"queued\":\"500ms\",\"duration\":\"2s\",\"steps\":4}, or no body; got \"null\"`},
		{"POST", "/api/jobs", `{"queued":`, 400, `body: want a JSON object like {\"queued\":\"500ms\",\"duration\":\"2s\",\"steps\":4}, or no body; got \"{\\\"queued\\\":\"`},
		{"POST", "/api/jobs", `{"queued":500}`, 400, `queued: want a duration from 0s to 10m, such as \"500ms\" (a JSON string); got \"500\"`},
		{"POST", "/api/jobs", `{"duration":"2h"}`, 400, `duration: want a duration from 0s to 1h, such as \"2s\"; got \"2h\"`},
		{"POST", "/api/jobs", `{"steps":"4"}`, 400, `steps: want the progress steps, an integer from 1 to 100; got \"\\\"4\\\"\"`},
		{"POST", "/api/jobs", `{"steps":2.5}`, 400, `steps: want the progress steps, an integer from 1 to 100; got \"2.5\"`},
		{"POST", "/api/jobs?steps=2", `{"steps":3}`, 400, `steps: given in both the query and the body; send it once`},
		{"POST", "/api/jobs", `{"input":"` + strings.Repeat("x", 70000) + `"}`, 413, `body: larger than 65536 bytes; send at most a small JSON object like {\"queued\":\"500ms\",\"duration\":\"2s\",\"steps\":4}`},
		{"GET", "/api/jobs/x?wait=1h", "", 400, `wait: want a duration from 0s to 1m, such as 30s; got \"1h\"`},
		{"GET", "/api/jobs/x?since=1", "", 400, `unknown query parameter \"since\"; this route accepts wait`},
		{"GET", "/api/jobs/job_0000000000000000", "", 404, `no job \"job_0000000000000000\": unknown, evicted, or completed more than 10m0s ago; create one with POST /api/jobs`},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target[:min(len(tt.target), 60)], func(t *testing.T) {
			rec := serve(m, req(tt.method, tt.target, tt.body))
			want := `{"error":"` + tt.msg + `"}`
			if rec.Code != tt.want || rec.Body.String() != want {
				t.Errorf("got %d %s\nwant %d %s", rec.Code, rec.Body, tt.want, want)
			}
		})
	}
	if n := h.store().len(); n != 0 {
		t.Errorf("a rejected POST created %d jobs", n)
	}
}

func TestNoHub(t *testing.T) {
	m := mux(&Handler{})
	for _, target := range []string{"/poll?channel=c", "/api/channels/c/messages"} {
		rec := serve(m, req("GET", target, ""))
		if rec.Code != http.StatusNotFound || rec.Body.String() != `{"error":"channels are not enabled on this server"}` {
			t.Errorf("%s: got %d %s", target, rec.Code, rec.Body)
		}
	}
}

func TestTooManyChannels(t *testing.T) {
	h := &Handler{Hub: pubsub.New(pubsub.Options{MaxChannels: 1})}
	m := mux(h)
	if rec := serve(m, req("GET", "/poll?channel=a", "")); rec.Code != http.StatusOK {
		t.Fatalf("first channel: %d %s", rec.Code, rec.Body)
	}
	for _, target := range []string{"/poll?channel=b", "/api/channels/b/messages"} {
		rec := serve(m, req("GET", target, ""))
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" ||
			rec.Body.String() != `{"error":"too many channels on this server; reuse an existing channel"}` {
			t.Errorf("%s: got %d %s", target, rec.Code, rec.Body)
		}
	}
}
