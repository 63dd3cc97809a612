package poll

import (
	"net/http"
	"testing"

	"github.com/rtbench/rtbench/transport"
)

func TestMatchETag(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		tag    string
		want   bool
	}{
		{"none", nil, "5", false},
		{"strong", []string{`"5"`}, "5", true},
		{"weak matches strong", []string{`W/"5"`}, "5", true},
		{"other", []string{`"4"`}, "5", false},
		{"prefix is not a match", []string{`"55"`}, "5", false},
		{"list", []string{`"3", "4" ,W/"5"`}, "5", true},
		{"second header", []string{`"3"`, `"5"`}, "5", true},
		{"star", []string{`*`}, "5", true},
		{"unquoted is malformed", []string{`5`}, "5", false},
		{"unterminated", []string{`"5`}, "5", false},
		{"stops at malformed", []string{`x, "5"`}, "5", false},
		{"empty", []string{``}, "5", false},
		{"job tag", []string{`"running-40"`}, "running-40", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := matchETag(tt.values, []byte(tt.tag)); got != tt.want {
				t.Errorf("matchETag(%q, %q) = %v, want %v", tt.values, tt.tag, got, tt.want)
			}
		})
	}
}

func TestKnownSeq(t *testing.T) {
	tests := []struct {
		values []string
		want   uint64
		ok     bool
	}{
		{nil, 0, false},
		{[]string{`"7"`}, 7, true},
		{[]string{`W/"7"`}, 7, true},
		{[]string{`"x", "9"`}, 9, true},
		{[]string{`*`}, 0, false},
		{[]string{`"-1"`}, 0, false},
		{[]string{`"queued-0"`}, 0, false},
	}
	for _, tt := range tests {
		got, ok := knownSeq(tt.values)
		if got != tt.want || ok != tt.ok {
			t.Errorf("knownSeq(%q) = %d, %v, want %d, %v", tt.values, got, ok, tt.want, tt.ok)
		}
	}
}

func TestErrorsAndMethods(t *testing.T) {
	stats := new(transport.ServerStats)
	h := &Handler{Stats: stats}
	tests := []struct {
		method, target string
		want           int
		allow, body    string
	}{
		{"POST", "/poll", 405, "GET", `{"error":"method POST not allowed; use GET"}`},
		{"DELETE", "/api/jobs/x", 405, "GET", `{"error":"method DELETE not allowed; use GET"}`},
		{"GET", "/api/jobs", 405, "POST", `{"error":"method GET not allowed; use POST"}`},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			rec := serve(methodless(h), req(tt.method, tt.target, ""))
			if rec.Code != tt.want || rec.Header().Get("Allow") != tt.allow || rec.Body.String() != tt.body {
				t.Errorf("got %d Allow=%q %s, want %d Allow=%q %s", rec.Code, rec.Header().Get("Allow"), rec.Body, tt.want, tt.allow, tt.body)
			}
			if ct, cc := rec.Header().Get("Content-Type"), rec.Header().Get("Cache-Control"); ct != "application/json" || cc != "no-store" {
				t.Errorf("Content-Type %q, Cache-Control %q", ct, cc)
			}
		})
	}
	if s := stats.Snapshot(); s.Events[transport.Poll] != int64(len(tests)) {
		t.Errorf("Sent counted %d responses, want %d", s.Events[transport.Poll], len(tests))
	}
}

// methodless registers the handlers without method patterns, so their own
// method checks answer.
func methodless(h *Handler) http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("/poll", h.Poll)
	m.HandleFunc("/api/jobs", h.CreateJob)
	m.HandleFunc("/api/jobs/{id}", h.GetJob)
	return m
}

func TestHasETag(t *testing.T) {
	for _, tt := range []struct {
		values []string
		want   bool
	}{{nil, false}, {[]string{""}, false}, {[]string{" , "}, false}, {[]string{"junk"}, false}, {[]string{"", `"a"`}, true}, {[]string{"*"}, true}} {
		if got := hasETag(tt.values); got != tt.want {
			t.Errorf("hasETag(%q) = %v", tt.values, got)
		}
	}
}
