package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rtbench/rtbench/bench"
)

type textCase struct {
	name     string
	result   func(*testing.T) *bench.Result
	outcomes func(*testing.T, *bench.Result) []bench.Outcome
	o        TextOptions
}

func sseResult(t *testing.T) *bench.Result  { return readResult(t, "sse") }
func pollResult(t *testing.T) *bench.Result { return readResult(t, "poll") }

// sseOutcomes pass and fail on the SSE run.
func sseOutcomes(t *testing.T, r *bench.Result) []bench.Outcome {
	t.Helper()
	var out []bench.Outcome
	for _, s := range []string{"delivery.p99<200ms", "delivery.p99<5ms", "lost==0", "errors==0"} {
		th, err := bench.ParseThreshold(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, th.Check(r))
	}
	return out
}

var textCases = []textCase{
	{"sse-100", sseResult, nil, TextOptions{Width: 100}},
	{"sse-60", sseResult, nil, TextOptions{Width: 60}},
	{"sse-color", sseResult, nil, TextOptions{Width: 100, Color: true}},
	{"sse-thresholds", sseResult, sseOutcomes, TextOptions{Width: 100}},
	{"poll-100", pollResult, nil, TextOptions{Width: 100}},
	{"poll-60", pollResult, nil, TextOptions{Width: 60}},
	{"poll-color", pollResult, nil, TextOptions{Width: 100, Color: true}},
	{"ai-100", aiResult, aiOutcomes, TextOptions{Width: 100}},
	{"ai-60", aiResult, aiOutcomes, TextOptions{Width: 60}},
	{"ai-40", aiResult, aiOutcomes, TextOptions{Width: 40}},
	{"ai-color", aiResult, aiOutcomes, TextOptions{Width: 100, Color: true}},
}

func render(t *testing.T, c textCase) string {
	t.Helper()
	r := c.result(t)
	var outcomes []bench.Outcome
	if c.outcomes != nil {
		outcomes = c.outcomes(t, r)
	}
	var b bytes.Buffer
	if err := LoadText(&b, r, outcomes, c.o); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestLoadTextGolden(t *testing.T) {
	for _, c := range textCases {
		t.Run(c.name, func(t *testing.T) {
			got := render(t, c)
			golden(t, "load/"+c.name+".txt", []byte(got))
			if c.o.Color != strings.Contains(got, "\x1b[") {
				t.Errorf("Color=%v but ANSI escapes present=%v", c.o.Color, !c.o.Color)
			}
		})
	}
}

// Every line fits the width, at every width, colour or not (colour
// changes only the table's border characters: two widths suffice).
func TestLoadTextFitsWidth(t *testing.T) {
	results := map[string]func(*testing.T) *bench.Result{"sse": sseResult, "poll": pollResult, "ai": aiResult}
	type wc struct {
		w     int
		color bool
	}
	var cases []wc
	for _, w := range []int{MinWidth, 47, 60, 73, 80, 100, 133} {
		cases = append(cases, wc{w, false})
	}
	cases = append(cases, wc{MinWidth, true}, wc{100, true})
	for name, mk := range results {
		r := mk(t)
		outcomes := aiOutcomes(t, r)
		for _, c := range cases {
			var b bytes.Buffer
			if err := LoadText(&b, r, outcomes, TextOptions{Width: c.w, Color: c.color}); err != nil {
				t.Fatal(err)
			}
			for i, l := range strings.Split(b.String(), "\n") {
				if textWidth(l) > c.w {
					t.Errorf("%s width %d color %v: line %d is %d wide: %q", name, c.w, c.color, i+1, textWidth(l), l)
				}
			}
		}
	}
	// A width below the minimum is taken as the minimum.
	var b bytes.Buffer
	LoadText(&b, sseResult(t), nil, TextOptions{Width: 10})
	if got := maxLineWidth(b.String()); got > MinWidth {
		t.Errorf("width 10: widest line %d, want ≤ %d", got, MinWidth)
	}
}

// The sections say what they must, whatever the golden files hold.
func TestLoadTextSections(t *testing.T) {
	tests := []struct {
		c       textCase
		want    []string
		notWant []string
	}{
		{textCases[0], []string{
			"rtbench load · sse · http://127.0.0.1:8080/sse?rate=10",
			"50 sessions held", "ramp 25 sessions/s", "2s warmup", "idle_timeout=30s", "reconnect=spec", "ttfb_timeout=10s",
			"host loadgen-1", "| connection ", "| events ", "p99.9 |", "delivery: 1 negative (clock skew) clamped to 0",
			"delivery histogram: 3,001 values", "◂ p50", "◂ p99", "sessions over time",
			"conn_reset   2", "not counted as errors: canceled",
			"errors: 5 (10.00% of 50 sessions and requests)", "http_5xx     3  503 ×2, 502 ×1: 503 Service Unavailable",
		}, []string{"!!", "PARTIAL", "SATURATED", "thresholds", "tokens", "dropped"}},
		{textCases[1], []string{"p50 |", "p99 |", "max |"}, []string{"rate |", "min |", "p99.9 |"}},
		{textCases[3], []string{"thresholds: 3 of 4 FAILED", "FAIL  errors==0 ", "PASS  delivery.p99<200ms", "FAIL  delivery.p99<5ms", "FAIL  lost==0", "3"}, nil},
		{textCases[4], []string{
			"!! PARTIAL RESULT: the run was interrupted (interrupt) after 3.5s measured of the 30s planned",
			"!! SATURATED: rtbench itself was saturated (self-check p99.9 28.2ms > 5ms, longest stall",
			"`rtbench report`", "open model 200 starts/s", "at most 100 in flight", "request histogram",
			"dropped", "late_starts", "http_5xx  30  503 Service Unavailable",
		}, []string{"sessions held"}},
		{textCases[6], []string{"\x1b[1;31m▲ PARTIAL RESULT", "\x1b[1;31m▲ SATURATED", "╭"}, []string{"!!"}},
		{textCases[7], []string{
			"open model 25 starts/s", "stages 15s→10 45s→25 15s→0", "2 hosts gpu-bench-a, gpu-bench-b",
			"23:59:30 → 2026-11-28 00:00:45 UTC", "| ai stream ", "ttft: 1 value above 1h counted at 1h",
			"delivery: 2 negative (clock skew) clamped to 0", "ttft histogram", "1 column = 2s; · = 5s warmup)",
			"thresholds: 3 of 5 FAILED", "FAIL  echo_rtt.p99<10ms", "missing: no values", "PASS  ttft.p95<2s",
			"tokens", "18.1 MB", "<b>overloaded</b>", "failed/s", "errors/s",
		}, []string{"PARTIAL", "SATURATED"}},
	}
	for _, tt := range tests {
		t.Run(tt.c.name, func(t *testing.T) {
			got := render(t, tt.c)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q\n%s", w, got)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(got, w) {
					t.Errorf("output has %q\n%s", w, got)
				}
			}
		})
	}
}

// Counted errors come first (most frequent first), canceled and warnings
// last.
func TestErrorClassesOrder(t *testing.T) {
	got := errorClasses(aiResult(t))
	want := []string{"http_5xx", "bad_content_type", "ttfb_timeout", "canceled"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("errorClasses = %v, want %v", got, want)
	}
}

func TestHeadline(t *testing.T) {
	mk := func(names ...string) *bench.Result {
		r := &bench.Result{Metrics: map[string]bench.MetricResult{}}
		for _, n := range names {
			r.Metrics[n] = bench.MetricResult{Count: 1}
		}
		return r
	}
	tests := []struct {
		metrics       []string
		headline      string
		drawn         string
		hasHL, hasAny bool
	}{
		{[]string{"connect", "delivery", "wire"}, "delivery", "delivery", true, true},
		{[]string{"ttft", "delivery", "request"}, "ttft", "ttft", true, true},
		{[]string{"echo_rtt", "ping_rtt"}, "echo_rtt", "echo_rtt", true, true},
		{[]string{"ttfb", "connect"}, "", "connect", false, true},
		{[]string{"from_the_future"}, "", "from_the_future", false, true},
		{nil, "", "", false, false},
	}
	for _, tt := range tests {
		r := mk(tt.metrics...)
		if h, ok := resultHeadline(r); h != tt.headline || ok != tt.hasHL {
			t.Errorf("%v: resultHeadline = %q, %v; want %q, %v", tt.metrics, h, ok, tt.headline, tt.hasHL)
		}
		if d, ok := drawnMetric(r); d != tt.drawn || ok != tt.hasAny {
			t.Errorf("%v: drawnMetric = %q, %v; want %q, %v", tt.metrics, d, ok, tt.drawn, tt.hasAny)
		}
	}
}

// A metric unknown to this version still gets a row, in "other".
func TestMetricGroupsUnknown(t *testing.T) {
	r := &bench.Result{Metrics: map[string]bench.MetricResult{"zeta": {Count: 1}, "delivery": {Count: 1}, "alpha": {Count: 1}, "connect": {Count: 1}}}
	var got []string
	for _, g := range metricGroups(r) {
		got = append(got, g.name+":"+strings.Join(g.metrics, "+"))
	}
	want := "connection:connect events:delivery other:alpha+zeta"
	if strings.Join(got, " ") != want {
		t.Errorf("groups = %v, want %s", got, want)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestLoadTextErrors(t *testing.T) {
	if err := LoadText(&bytes.Buffer{}, nil, nil, TextOptions{}); err == nil {
		t.Error("nil result: no error")
	}
	if err := LoadText(failWriter{}, sseResult(t), nil, TextOptions{}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("failing writer: err = %v", err)
	}
	if err := LoadJSON(&bytes.Buffer{}, nil, nil); err == nil {
		t.Error("LoadJSON nil result: no error")
	}
	if err := LoadJSON(failWriter{}, sseResult(t), nil); err == nil {
		t.Error("LoadJSON failing writer: no error")
	}
}

// A result with nothing in it (every session refused at once) still
// renders: header, an empty error list.
func TestLoadTextEmpty(t *testing.T) {
	r := &bench.Result{Schema: bench.SchemaV2, Target: bench.TargetInfo{URL: "http://x/", Pattern: "sse"},
		Errors: map[string]bench.ErrorResult{"conn_refused": {Count: 3, Example: "dial tcp 127.0.0.1:1: connect: connection refused"}}}
	var b bytes.Buffer
	if err := LoadText(&b, r, nil, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	for _, w := range []string{"rtbench load · sse · http://x/", "0 sessions held", "conn_refused  3", "errors: 3"} {
		if !strings.Contains(got, w) {
			t.Errorf("lacks %q:\n%s", w, got)
		}
	}
	if maxLineWidth(got) > DefaultWidth {
		t.Errorf("wider than the default width:\n%s", got)
	}
}

func TestLoadJSON(t *testing.T) {
	r := sseResult(t)
	outcomes := sseOutcomes(t, r)
	for _, tt := range []struct {
		name     string
		outcomes []bench.Outcome
		want     int
	}{{"with thresholds", outcomes, len(outcomes)}, {"none", nil, 0}} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := LoadJSON(&b, r, tt.outcomes); err != nil {
				t.Fatal(err)
			}
			// The document reads back as a result: the same one, with the
			// outcomes in its thresholds field.
			back, err := bench.Decode(bytes.NewReader(b.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if len(back.Thresholds) != tt.want {
				t.Errorf("thresholds = %+v, want %d entries", back.Thresholds, tt.want)
			}
			back.Thresholds = nil
			a, _ := json.Marshal(r)
			c, _ := json.Marshal(back)
			if !bytes.Equal(a, c) {
				t.Error("the result does not round-trip")
			}
			// --out saves the same bytes.
			doc := *r
			doc.Thresholds = bench.ThresholdResults(tt.outcomes)
			path := filepath.Join(t.TempDir(), "r.json")
			if err := bench.WriteFile(path, &doc); err != nil {
				t.Fatal(err)
			}
			if saved, _ := os.ReadFile(path); !bytes.Equal(saved, b.Bytes()) {
				t.Errorf("--out saved\n%s\n--json printed\n%s", saved, b.Bytes())
			}
		})
	}
	var b bytes.Buffer
	LoadJSON(&b, r, outcomes)
	golden(t, "load/sse.json.out", b.Bytes())
	if !strings.Contains(b.String(), `"threshold": "delivery.p99\u003c5ms"`) || !strings.Contains(b.String(), `"pass": false`) {
		t.Errorf("outcomes missing from\n%s", b.String())
	}
}

func BenchmarkLoadText(b *testing.B) {
	t := &testing.T{}
	r := aiResult(t)
	outcomes := aiOutcomes(t, r)
	b.ReportAllocs()
	for b.Loop() {
		if err := LoadText(io.Discard, r, outcomes, TextOptions{Width: 100}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestHTTPClientText: the report says which HTTP client carried the
// requests, from the result's lean_requests counter; nothing when the
// result has no requests or predates the counter.
func TestHTTPClientText(t *testing.T) {
	tests := []struct {
		name     string
		counters map[string]int64
		want     string
	}{
		{"lean", map[string]int64{"requests": 3000, "lean_requests": 3000}, "requests over rtbench's lean HTTP/1.1 client"},
		{"net/http", map[string]int64{"requests": 3000, "lean_requests": 0}, "requests over net/http"},
		{"both", map[string]int64{"requests": 3000, "lean_requests": 2990}, "2,990 requests over rtbench's lean HTTP/1.1 client, 10 over net/http"},
		{"no requests", map[string]int64{"events": 10, "requests": 0, "lean_requests": 0}, ""},
		{"older result", map[string]int64{"requests": 3000}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := pollResult(t)
			r.Counters = tt.counters
			if got := httpClientText(r); got != tt.want {
				t.Errorf("httpClientText = %q, want %q", got, tt.want)
			}
			var b bytes.Buffer
			if err := LoadText(&b, r, nil, TextOptions{Width: 200}); err != nil {
				t.Fatal(err)
			}
			if tt.want != "" && !strings.Contains(b.String(), tt.want) {
				t.Errorf("the report does not say %q:\n%s", tt.want, b.String())
			}
			if tt.want == "" && (strings.Contains(b.String(), "over net/http") || strings.Contains(b.String(), "lean HTTP/1.1")) {
				t.Errorf("the report names a client without the count:\n%s", b.String())
			}
		})
	}
}
