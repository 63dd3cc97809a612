package bench

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

// TestDecodeRefusesImpossibleTimes: a negative duration or a start after
// the end is not a run (rtbench report accepted both).
func TestDecodeRefusesImpossibleTimes(t *testing.T) {
	valid, err := os.ReadFile("testdata/sse.json")
	if err != nil {
		t.Fatal(err)
	}
	good, err := Decode(bytes.NewReader(valid))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(r *Result)
		want   string
	}{
		{"negative duration", func(r *Result) { r.DurationS = -5 }, "duration_s"},
		{"start after end", func(r *Result) { r.StartedAt = r.EndedAt.Add(time.Hour) }, "started_at"},
		{"measured before the start", func(r *Result) { r.MeasuredFrom = r.StartedAt.Add(-time.Hour) }, "measured_from"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := *good
			tt.change(&r)
			b, err := Marshal(&r)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Decode(bytes.NewReader(b)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Decode error %v, want one naming %s", err, tt.want)
			}
		})
	}
}
