package check

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport"
)

func spec(url string, a Assertions) Spec {
	return Spec{Request: transport.Request{URL: url}, Assert: a}
}

// TestCompileErrors: a Spec that does not validate names its field and
// says what to give instead.
func TestCompileErrors(t *testing.T) {
	no := false
	tests := []struct {
		s             Spec
		field, detail string
	}{
		{spec("127.0.0.1/sse", Assertions{}), "url", "has no scheme"},
		{Spec{Request: transport.Request{URL: "http://h/sse"}, Mode: "grpc"}, "mode", "want ws, sse, ai, pusher, ably or poll"},
		{Spec{Request: transport.Request{URL: "ws://h/ws"}, Mode: "sse"}, "mode", "WebSocket URL"},
		{Spec{Request: transport.Request{URL: "http://h/sse"}, Concurrency: MaxConcurrency + 1}, "concurrency", "want 1 to 1000"},
		{Spec{Request: transport.Request{URL: "http://h/sse"}, Timeout: -time.Second}, "timeout", "positive"},
		{spec("http://h/sse", Assertions{Status: "abc"}), "status", "want HTTP statuses"},
		{spec("http://h/sse", Assertions{Status: "600"}), "status", "want HTTP statuses"},
		{spec("ws://h/ws", Assertions{Status: "200"}), "status", "must answer 101"},
		{spec("ws://h/ws", Assertions{ContentType: "text/plain"}), "content_type", "no content type"},
		{spec("http://h/sse", Assertions{ContentType: "not a type"}), "content_type", "media type"},
		{spec("http://h/sse", Assertions{Events: -1}), "events", "want 1 or more"},
		{spec("http://h/sse", Assertions{Within: time.Hour}), "within", "longer than the check's timeout 30s"},
		{spec("http://h/sse", Assertions{FirstEvent: -time.Second}), "first_event", "positive"},
		{spec("http://h/sse", Assertions{Expect: []string{"a="}}), "expect", "bad expression"},
		{spec("http://h/sse", Assertions{Thresholds: []string{"delivery.p99<"}}), "thresholds", `"delivery.p99<": at 13`},
		{Spec{Request: transport.Request{URL: "http://h/sse"}, Mode: "sse", Assert: Assertions{TTFT: time.Second}}, "ttft", "AI streams"},
		{Spec{Request: transport.Request{URL: "http://h/sse"}, Mode: "poll", Assert: Assertions{Complete: &no}}, "complete", "AI streams"},
		{Spec{Request: transport.Request{URL: "http://h/sse"}, Mode: "sse", Assert: Assertions{Echo: true}}, "echo", "WebSockets"},
	}
	for _, tt := range tests {
		t.Run(tt.field+" "+tt.detail, func(t *testing.T) {
			err := tt.s.Validate()
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field || !strings.Contains(err.Error(), tt.detail) {
				t.Fatalf("Validate: %v; want a %s error mentioning %q", err, tt.field, tt.detail)
			}
		})
	}
}

// TestModeDefaults: the assertions each mode gets when none are given, and
// the modes that assertions imply.
func TestModeDefaults(t *testing.T) {
	tests := []struct {
		s           Spec
		mode        string // before detection
		detected    string // what detection found ("": none ran)
		events      int
		within      time.Duration
		contentType string
		status      string
		complete    bool
	}{
		{spec("http://h/sse", Assertions{}), "", ModeSSE, DefaultStreamEvents, DefaultTimeout, "text/event-stream", "2xx", false},
		{spec("http://h/sse", Assertions{Within: 5 * time.Second}), "", ModeSSE, 1, 5 * time.Second, "text/event-stream", "2xx", false},
		{spec("http://h/sse", Assertions{FirstEvent: time.Second}), "", ModeSSE, 0, 0, "text/event-stream", "2xx", false},
		{spec("ws://h/ws", Assertions{}), ModeWS, ModeWS, DefaultStreamEvents, DefaultTimeout, "", "", false},
		{spec("ws://h/ws", Assertions{Echo: true}), ModeWS, ModeWS, 0, 0, "", "", false},
		{spec("http://h/ws", Assertions{Echo: true}), ModeWS, ModeWS, 0, 0, "", "", false},
		{spec("http://h/job", Assertions{Status: "200,204"}), "", ModePoll, 1, DefaultTimeout, "", "200,204", false},
		{spec("http://h/job", Assertions{Expect: []string{"done"}}), "", ModePoll, 0, 0, "", "2xx", false},
		{spec("http://h/v1/chat", Assertions{TTFT: time.Second}), ModeAI, ModeAI, 0, 0, "text/event-stream", "2xx", true},
		{spec("http://h/v1/chat", Assertions{ContentType: "Text/Event-Stream; charset=utf-8"}), "", ModeAI, 0, 0, "text/event-stream", "2xx", true},
	}
	for _, tt := range tests {
		p, err := compile(tt.s)
		if err != nil {
			t.Fatal(err)
		}
		if p.mode != tt.mode {
			t.Errorf("%+v: mode %q before detection, want %q", tt.s.Assert, p.mode, tt.mode)
		}
		p.setMode(tt.detected)
		got := []any{p.events, p.within, p.contentType, p.status.String(), p.complete}
		want := []any{tt.events, tt.within, tt.contentType, tt.status, tt.complete}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s %+v: events, within, content type, status, complete = %v; want %v", tt.detected, tt.s.Assert, got, want)
				break
			}
		}
	}
	// An AI check without a body sends the default one.
	p, _ := compile(Spec{Request: transport.Request{URL: "http://h/v1/chat"}, Mode: ModeAI})
	p.setMode(ModeAI)
	if string(p.spec.Request.Body) != DefaultAIBody {
		t.Fatalf("AI body %q", p.spec.Request.Body)
	}
}

func TestParseStatus(t *testing.T) {
	s, err := parseStatus(" 200, 3XX ,204")
	if err != nil {
		t.Fatal(err)
	}
	for code, want := range map[int]bool{200: true, 204: true, 301: true, 399: true, 201: false, 404: false} {
		if s.Has(code) != want {
			t.Errorf("has(%d) = %v", code, !want)
		}
	}
	if s.String() != "200,3xx,204" {
		t.Errorf("String %q", s.String())
	}
	for _, bad := range []string{"", "2x", "6xx", "99", "200;204"} {
		if _, err := parseStatus(bad); err == nil {
			t.Errorf("parseStatus(%q) accepted", bad)
		}
	}
}
