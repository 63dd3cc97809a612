package bench

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestResultURLRedacted: a new result stores its target URL redacted, and
// one read back from a file saved by an older rtbench (with the secrets)
// is redacted when read, so `rtbench report` never shows them.
func TestResultURLRedacted(t *testing.T) {
	rec := pushRecording(1, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), 100)
	r, err := NewResult(rec, Meta{Version: "t", URL: "http://u:pw-123@h/sse?token=tok-456", Pattern: "sse"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Target.URL != "http://u:xxxxx@h/sse?token=xxxxx" {
		t.Errorf("new result's URL %q", r.Target.URL)
	}
	r.Target.URL = "http://u:pw-123@h/sse?token=tok-456" // as an older rtbench saved it
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(back.Target.URL, "pw-123") || strings.Contains(back.Target.URL, "tok-456") {
		t.Errorf("read back with its secrets: %q", back.Target.URL)
	}
}
