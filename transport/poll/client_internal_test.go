package poll

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/rtbench/rtbench/transport"
)

func TestDropParams(t *testing.T) {
	tests := []struct{ raw, want string }{
		{"", ""},
		{"rate=5", "rate=5"},
		{"wait=1s", ""},
		{"rate=5&wait=1s&since=3&size=9", "rate=5&size=9"},
		{"w%61it=1s&since&x=%20", "x=%20"}, // an escaped key, a key without a value
		{"a=1&&b=2", "a=1&b=2"},
	}
	for _, tt := range tests {
		if got := dropParams(tt.raw, "wait", "since"); got != tt.want {
			t.Errorf("dropParams(%q) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}

// TestPollURL: the query a session sends as it learns the state.
func TestPollURL(t *testing.T) {
	tests := []struct {
		name      string
		url       string
		longPoll  time.Duration
		haveState bool
		since     int64 // -1: none
		want      string
	}{
		{"plain", "http://h/poll?rate=5", 0, true, -1, "http://h/poll?rate=5"},
		{"plain-keeps-user-wait-and-since", "http://h/p?wait=2s&since=4", 0, true, -1, "http://h/p?wait=2s&since=4"},
		{"page-since-replaces-user-since", "http://h/m?since=4#frag", 0, true, 9, "http://h/m?since=9"},
		{"long-first-is-plain", "http://h/poll?wait=1s&rate=5", 5 * time.Second, false, -1, "http://h/poll?rate=5"},
		{"long-no-seq", "http://h/jobs/1", 5 * time.Second, true, -1, "http://h/jobs/1?wait=5s"},
		{"long-since", "http://h/poll?rate=5&since=1", 1500 * time.Millisecond, true, 42, "http://h/poll?rate=5&since=42&wait=1.5s"},
		{"long-since-no-query", "http://h/poll", time.Minute, true, 0, "http://h/poll?since=0&wait=1m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Client{Request: transportRequest(tt.url), LongPoll: tt.longPoll, HTTP: http.DefaultClient}
			s, err := c.newSession(nil)
			if err != nil {
				t.Fatal(err)
			}
			s.haveState = tt.haveState
			if tt.since >= 0 {
				s.since, s.hasSince = uint64(tt.since), true
			}
			if got := s.pollURL(); got != tt.want {
				t.Errorf("pollURL = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"", 0},
		{"7", 7 * time.Second},
		{"-3", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.value, now); got != tt.want {
			t.Errorf("Retry-After %q: %v, want %v", tt.value, got, tt.want)
		}
	}
}

func TestReadBody(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		limit   int
		wantErr error
	}{
		{"empty", "", 10, nil},
		{"at-limit", "0123456789", 10, nil},
		{"over-limit", "0123456789x", 10, errBodyTooLarge},
		{"large", strings.Repeat("y", 5000), 5000, nil},
		{"large-over", strings.Repeat("y", 5001), 5000, errBodyTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readBody(iotest.OneByteReader(strings.NewReader(tt.body)), make([]byte, 3, 4), tt.limit)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if err == nil && string(got) != tt.body {
				t.Fatalf("got %d bytes, want %d", len(got), len(tt.body))
			}
			if cap(got) > 2*tt.limit+512 {
				t.Fatalf("buffer grew to %d for a limit of %d", cap(got), tt.limit)
			}
		})
	}
	// The buffer is reused: no allocation once it is large enough.
	buf := make([]byte, 0, 64)
	body := bytes.Repeat([]byte("z"), 40)
	got, _ := readBody(bytes.NewReader(body), buf, 100)
	if &got[:1][0] != &buf[:1][0] {
		t.Fatal("readBody did not reuse the buffer")
	}
	// A read error is returned as is.
	if _, err := readBody(iotest.ErrReader(errors.New("boom")), nil, 10); err == nil || err.Error() != "boom" {
		t.Fatalf("err %v, want boom", err)
	}
}

func TestSnippet(t *testing.T) {
	tests := []struct{ body, want string }{
		{"", ""},
		{"  \n", ""},
		{`{"error":"x"}` + "\n", `: {"error":"x"}`},
		{"\xff\xfe", ""},
		{strings.Repeat("é", 150), ": " + strings.Repeat("é", 100) + "…"},
	}
	for _, tt := range tests {
		if got := snippet([]byte(tt.body)); got != tt.want {
			t.Errorf("snippet(%q) = %q, want %q", tt.body, got, tt.want)
		}
	}
}

func transportRequest(url string) transport.Request { return transport.Request{URL: url} }
