package client

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/rtbench/rtbench/transport"
)

func TestTable(t *testing.T) {
	seen := map[string]bool{}
	for i, p := range Protocols() {
		if p.Name == "" || p.New == nil {
			t.Fatalf("row %d has no name or no New: %+v", i, p)
		}
		if seen[p.Name] {
			t.Errorf("row %d: %s registered twice", i, p.Name)
		}
		seen[p.Name] = true
		if Lookup(p.Name) != p {
			t.Errorf("Lookup(%s) does not find its row", p.Name)
		}
		// Several protocols may share a pattern (pusher runs over
		// WebSocket): ForPattern gives the first row of it.
		if first := ForPattern(p.Pattern); first == nil || first.Pattern != p.Pattern || slicesIndex(first) > i {
			t.Errorf("ForPattern(%s) = %v, want the first row of the pattern", p.Pattern, first)
		}
		if p.New(transport.SessionOptions{Request: transport.Request{URL: "http://127.0.0.1:1/"}}) == nil {
			t.Errorf("%s: New returned nil", p.Name)
		}
	}
	if Lookup("sse2") != nil || Lookup("") != nil {
		t.Error("Lookup found a protocol that is not in the table")
	}
	if got, want := Names(), "ws, sse, ai, pusher or poll"; got != want {
		t.Errorf("Names() = %q, want %q", got, want)
	}
	// Polling claims every answer, so it must come last, or the rows after
	// it could never be detected.
	last := Protocols()[len(Protocols())-1]
	if last.Name != "poll" {
		t.Errorf("the last row is %s, want poll", last.Name)
	}
}

func slicesIndex(p *transport.Protocol) int {
	for i, row := range Protocols() {
		if row == p {
			return i
		}
	}
	return -1
}

func TestOpen(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
	}))
	defer srv.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	tests := []struct {
		name, url, mode string
		want            string // protocol, or "" for an error
		class           transport.Class
		opened          bool
	}{
		{"detected", srv.URL, "", "sse", "", true},
		{"forced sends nothing", srv.URL, "poll", "poll", "", false},
		{"forced and unreachable", deadURL, "sse", "", transport.ClassRefused, false},
		{"detected and unreachable", deadURL, "", "", transport.ClassRefused, false},
		{"ws and unreachable", "ws" + deadURL[len("http"):], "", "", transport.ClassRefused, false},
		{"unknown mode", srv.URL, "mqtt", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Open(t.Context(), srv.Client(), transport.Request{URL: tt.url}, tt.mode)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("got %s, want an error", d.Protocol.Name)
				}
				if tt.class != "" && transport.AsError(err).Class != tt.class {
					t.Errorf("error %v: class %s, want %s", err, transport.AsError(err).Class, tt.class)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Opened != nil {
				defer d.Opened.Resp.Body.Close()
			}
			if d.Protocol.Name != tt.want || (d.Opened != nil) != tt.opened {
				t.Errorf("got %s opened=%v, want %s opened=%v", d.Protocol.Name, d.Opened != nil, tt.want, tt.opened)
			}
		})
	}
}
