package report

import (
	"bytes"
	"testing"

	"github.com/rtbench/rtbench/bench"
)

// TestDiffTextGolden: diff's table (names left, values right, a missing
// side as —, signed changes) and its fail-if lines, plain and coloured,
// byte for byte.
func TestDiffTextGolden(t *testing.T) {
	pct := func(v float64) *float64 { return &v }
	doc := DiffDoc{
		Schema: DiffSchema,
		Base:   DiffSide{File: "base.json", RunID: "r-1", Target: "http://127.0.0.1:8080/sse", Pattern: "sse"},
		New:    DiffSide{File: "new.json", Target: "http://127.0.0.1:8080/sse", Pattern: "sse"},
		Rows: []bench.DiffRow{
			{Name: "delivery.p50", Unit: "ms", Base: 1.25, New: 1.5, Change: 0.25, ChangePct: pct(20)},
			{Name: "delivery.p99", Unit: "ms", Base: 12.3456, New: 9.1, Change: -3.2456, ChangePct: pct(-26.29)},
			{Name: "events", Unit: "/s", Base: 0, New: 1000, Change: 1000},
			{Name: "ttfb.p99", Unit: "ms", New: 3, Missing: "base"},
			{Name: "errors", Unit: "%", Base: 0.5, New: 0.5, ChangePct: pct(0)},
		},
		Checks: []DiffCheck{
			{Condition: "delivery.p99 > +10%", Change: "-26.3%"},
			{Condition: "delivery.p50 > +10%", Change: "+20.0%", Regressed: true},
		},
	}
	for _, tt := range []struct {
		name  string
		color bool
	}{{"plain", false}, {"color", true}} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := DiffText(&b, doc, TextOptions{Color: tt.color, Width: 100}); err != nil {
				t.Fatal(err)
			}
			golden(t, "diff/"+tt.name+".txt", b.Bytes())
		})
	}
}
