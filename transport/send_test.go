package transport

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

func testEnv(k string) (string, bool) {
	v, ok := map[string]string{"TOKEN": "s3cr3t", "EMPTY": ""}[k]
	return v, ok
}

func TestSendTemplate(t *testing.T) {
	now := time.Unix(1, 5)
	tests := []struct {
		in, want, err string
	}{
		{`{"type":"subscribe"}`, `{"type":"subscribe"}`, ""},
		{`{"id":"{{session}}-{{seq}}"}`, `{"id":"7-42"}`, ""},
		{`{{ now_ns }}`, `1000000005`, ""},
		{`{"auth":"{{env "TOKEN"}}"}`, `{"auth":"s3cr3t"}`, ""},
		{`{{"{{"}}x}}`, `{{x}}`, ""},
		{`{"a":{"b":1}}`, `{"a":{"b":1}}`, ""},
		{``, ``, ""},
		{`{{env "NOPE"}}`, "", `{{env "NOPE"}}: NOPE is not set`},
		{`{{env NOPE}}`, "", `want {{env "NAME"}}`},
		{`{{env}}`, "", `want {{env "NAME"}}`},
		{`{{sesion}}`, "", `{{sesion}}: unknown; want {{session}}`},
		{`{"a":{{seq}`, "", `without a closing }}`},
		{`{{environ}}`, "", `unknown`},
	}
	for _, tt := range tests {
		tpl, err := ParseSendTemplate(tt.in, testEnv)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: error %v, want one containing %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if got := string(tpl.Append(nil, 7, 42, now)); got != tt.want {
			t.Errorf("%q rendered %q, want %q", tt.in, got, tt.want)
		}
		if tpl.String() != tt.in {
			t.Errorf("String() = %q, want the input %q", tpl.String(), tt.in)
		}
	}
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestSendUUID(t *testing.T) {
	tpl, err := ParseSendTemplate("{{uuid}}", testEnv)
	if err != nil {
		t.Fatal(err)
	}
	a, b := string(tpl.Append(nil, 0, 1, time.Now())), string(tpl.Append(nil, 0, 1, time.Now()))
	if !uuidV4.MatchString(a) || a == b {
		t.Errorf("uuids %q, %q: want two different RFC 9562 v4 UUIDs", a, b)
	}
}

// TestSender: each connection renders the whole list; {{seq}} counts every
// message of the session; another session has its own number and count.
func TestSender(t *testing.T) {
	var ts []*SendTemplate
	for _, s := range []string{"a{{session}}.{{seq}}", "b{{session}}.{{seq}}"} {
		tpl, err := ParseSendTemplate(s, testEnv)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, tpl)
	}
	s := NewSender(ts, 0)
	join := func(ms [][]byte) string { return string(bytes.Join(ms, []byte(" "))) }
	if got := join(s.Messages()); got != "a0.1 b0.2" {
		t.Errorf("first connection %q", got)
	}
	if got := join(s.Messages()); got != "a0.3 b0.4" {
		t.Errorf("reconnect %q", got)
	}
	if got := join(s.ForSession(3).Messages()); got != "a3.1 b3.2" {
		t.Errorf("session 3 %q", got)
	}
	var nilSender *Sender
	if nilSender.Messages() != nil || nilSender.ForSession(1) != nil || nilSender.Len() != 0 || NewSender(nil, 1) != nil {
		t.Error("a nil Sender sends something")
	}
	// Concurrent connections of one session never share a number.
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for _, m := range s.Messages() {
				mu.Lock()
				if seen[string(m)] {
					t.Errorf("%s twice", m)
				}
				seen[string(m)] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// TestRequestSendLines: over HTTP the messages are the body's first lines,
// before Body, and the method becomes POST unless given.
func TestRequestSendLines(t *testing.T) {
	tpl, _ := ParseSendTemplate(`{"type":"subscribe","n":{{seq}}}`, testEnv)
	for _, tt := range []struct {
		method, body, wantMethod, wantBody string
	}{
		{"", "", "POST", "{\"type\":\"subscribe\",\"n\":1}\n"},
		{"PUT", `{"q":1}`, "PUT", "{\"type\":\"subscribe\",\"n\":1}\n{\"q\":1}"},
	} {
		r := Request{URL: "http://h/sse", Method: tt.method, Send: NewSender([]*SendTemplate{tpl}, 0)}
		if tt.body != "" {
			r.Body = []byte(tt.body)
		}
		req, err := r.HTTPRequest(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(req.Body)
		if req.Method != tt.wantMethod || string(b) != tt.wantBody || req.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %q (%s), want %s %q", req.Method, b, req.Header.Get("Content-Type"), tt.wantMethod, tt.wantBody)
		}
	}
}

func FuzzParseSendTemplate(f *testing.F) {
	for _, s := range []string{`{"type":"subscribe"}`, `{{session}}-{{seq}}`, `{{env "TOKEN"}}`, `{{"{{"}}`, `{{`, `}}{{uuid}}`, `{{ now_ns }}`} {
		f.Add(s)
	}
	now := time.Unix(0, 123)
	f.Fuzz(func(t *testing.T, s string) {
		tpl, err := ParseSendTemplate(s, testEnv)
		if !strings.Contains(s, "{{") {
			if err != nil {
				t.Fatalf("%q: plain text failed: %v", s, err)
			}
			if got := string(tpl.Append(nil, 1, 2, now)); got != s {
				t.Fatalf("plain text %q rendered %q", s, got)
			}
		}
		if err != nil {
			if !strings.Contains(err.Error(), "{{") {
				t.Fatalf("%q: error %q does not quote the action", s, err)
			}
			return
		}
		if tpl.String() != s {
			t.Fatalf("String() %q != %q", tpl.String(), s)
		}
		if !strings.Contains(s, "uuid") {
			a, b := tpl.Append(nil, 1, 2, now), tpl.Append(nil, 1, 2, now)
			if !bytes.Equal(a, b) {
				t.Fatalf("%q: two renders differ: %q, %q", s, a, b)
			}
		}
	})
}
