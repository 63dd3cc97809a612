package bench

import (
	"bytes"
	"encoding/json"
	"flag"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/rtbench/rtbench/transport"
)

// -update rewrites bench/testdata/*.json. The flag is registered only if no
// other test file of the package did already.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite testdata files")
	}
}

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589_793_238, time.UTC)

// lognormal returns a latency around median with a long tail.
func lognormal(rng *rand.Rand, median time.Duration, sigma float64) time.Duration {
	return time.Duration(float64(median) * math.Exp(rng.NormFloat64()*sigma))
}

// pushRecording is a realistic SSE run: 10 s, 2 s warmup, n events.
func pushRecording(seed uint64, start time.Time, n int) *Recording {
	rng := rand.New(rand.NewPCG(seed, 42))
	rec := NewRecording()
	rec.Start, rec.MeasureFrom, rec.End = start, start.Add(2*time.Second), start.Add(10*time.Second)
	for range 50 {
		rec.Hists[DNS].Record(lognormal(rng, 300*time.Microsecond, 0.3))
		tcp := lognormal(rng, 150*time.Microsecond, 0.3)
		rec.Hists[TCP].Record(tcp)
		rec.Hists[Connect].Record(tcp) // plain http: connect is the TCP connect
		rec.Hists[Handshake].Record(lognormal(rng, 900*time.Microsecond, 0.4))
		rec.Hists[TTFB].Record(lognormal(rng, 1200*time.Microsecond, 0.4))
		rec.Hists[FirstEvent].Record(lognormal(rng, 20*time.Millisecond, 0.5))
	}
	for range n {
		rec.Hists[Delivery].Record(lognormal(rng, 2*time.Millisecond, 0.6))
		rec.Hists[Wire].Record(lognormal(rng, 800*time.Microsecond, 0.5))
		rec.Hists[Gap].Record(lognormal(rng, 100*time.Millisecond, 0.1))
	}
	rec.Hists[Delivery].Record(-time.Millisecond) // one clock-skewed event
	for range 8000 {
		rec.SelfCheck.Record(lognormal(rng, 60*time.Microsecond, 0.5))
	}
	rec.Counters[Events] = int64(n) + 1
	rec.Counters[Bytes] = 180 * (int64(n) + 1)
	rec.Counters[Connects] = 52
	rec.Counters[Reconnects] = 2
	rec.Counters[SessionsStarted] = 50
	rec.Counters[Lost] = 3
	rec.Counters[ClockSkewNegative] = 1
	rec.Errors[transport.ClassReset] = &ErrorCount{Count: 2, Example: "read tcp 127.0.0.1:51234->127.0.0.1:8080: read: connection reset by peer"}
	rec.Errors[transport.ClassCanceled] = &ErrorCount{Count: 50, Example: "context canceled"}
	rec.Errors[transport.ClassHTTP5xx] = &ErrorCount{Count: 3, Example: "503 Service Unavailable", Codes: map[int]int64{503: 2, 502: 1}}
	// Two sessions dropped at 5 s and back within 2 s; one more lost at 9.5 s
	// and still out at the end.
	down := start.Add(5 * time.Second)
	rec.Hists[Reconnect].Record(1500 * time.Millisecond)
	rec.Hists[Reconnect].Record(1900 * time.Millisecond)
	rec.GoroutinesStart, rec.GoroutinesEnd, rec.MaxRSS = 12, 12, 40<<20
	rec.Counters[Outages] = 2
	rec.Counters[ReconnectsDelayed] = 1
	rec.Outages = []Outage{
		{Start: down, FirstBack: down.Add(1500 * time.Millisecond), End: down.Add(1900 * time.Millisecond), Sessions: 2, Recovered: 2},
		{Start: start.Add(9500 * time.Millisecond), Sessions: 1},
	}
	for s := range 10 {
		iv := Interval{T: time.Duration(s) * time.Second, Open: 50, Events: int64(n / 10), Bytes: int64(180 * n / 10)}
		if s == 0 {
			iv.Opened, iv.Established = 50, 50
		}
		if s >= 2 {
			iv.HeadlineP99 = time.Duration(5000+s*37) * time.Microsecond
		}
		rec.Intervals = append(rec.Intervals, iv)
	}
	return rec
}

// pollRecording is a polling run stopped by Ctrl-C, with HTTP errors and a
// saturated generator.
func pollRecording(seed uint64, start time.Time) *Recording {
	rng := rand.New(rand.NewPCG(seed, 7))
	rec := NewRecording()
	rec.Start, rec.MeasureFrom, rec.End = start, start, start.Add(3500*time.Millisecond)
	rec.Interrupted, rec.Reason = true, "interrupt"
	for i := range 700 {
		rec.Hists[Request].Record(lognormal(rng, 15*time.Millisecond, 0.8))
		rec.Hists[Staleness].Record(lognormal(rng, 400*time.Millisecond, 0.3))
		rec.Hists[StartLag].Record(time.Duration(50+i%40*25) * time.Microsecond)
	}
	rec.Counters[CutOff] = 3
	for range 3500 {
		rec.SelfCheck.Record(lognormal(rng, 3*time.Millisecond, 0.7))
	}
	rec.Counters[Requests] = 730
	rec.Counters[SessionsStarted] = 730 // open model: one session per request
	rec.Counters[Events] = 690
	rec.Counters[LateStarts] = 12
	rec.Counters[Dropped] = 30
	rec.Errors[transport.ClassHTTP5xx] = &ErrorCount{Count: 30, Example: "503 Service Unavailable"}
	for s := range 4 {
		rec.Intervals = append(rec.Intervals, Interval{T: time.Duration(s) * time.Second, Requests: 200, Events: 190, Errors: 8, HeadlineP99: 90 * time.Millisecond})
	}
	return rec
}

var pushParams = Params{
	Connections: 50, DurationS: 10, WarmupS: 2, Ramp: RampParams{SessionsPerS: 25},
	Defaults: map[string]string{"ttfb_timeout": "10s", "idle_timeout": "30s", "max_event_bytes": "1048576", "reconnect": "spec"},
}

func pushMeta(host string) Meta {
	return Meta{Version: "0.3.0", URL: "http://127.0.0.1:8080/sse?rate=10", Pattern: "sse", Params: pushParams, Host: host}
}

func mustResult(t testing.TB, rec *Recording, meta Meta) *Result {
	t.Helper()
	r, err := NewResult(rec, meta)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestNewResult(t *testing.T) {
	empty := NewRecording()
	empty.Start, empty.End = t0, t0.Add(time.Second)
	tests := []struct {
		name          string
		rec           *Recording
		metrics       []string
		durationS     float64
		saturated     bool
		interrupted   bool
		errors        int
		intervals     int
		measuredFrom  time.Time
		deliveryCount int64
	}{
		{"empty", empty, nil, 1, false, false, 0, 0, t0, 0},
		{"push", pushRecording(1, t0, 1000), []string{"connect", "delivery", "dns", "first_event", "gap", "handshake", "reconnect", "tcp", "ttfb", "wire"}, 8, false, false, 3, 10, t0.Add(2 * time.Second), 1001},
		{"poll", pollRecording(2, t0), []string{"request", "staleness", "start_lag"}, 3.5, true, true, 1, 4, t0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustResult(t, tt.rec, pushMeta("h1"))
			var names []string
			for n := range r.Metrics {
				names = append(names, n)
			}
			if got := strings.Join(sorted(names), ","); got != strings.Join(tt.metrics, ",") {
				t.Errorf("metrics = %s, want %s", got, strings.Join(tt.metrics, ","))
			}
			if len(r.Counters) != int(NumCounters) {
				t.Errorf("%d counters, want all %d", len(r.Counters), NumCounters)
			}
			if r.DurationS != tt.durationS || !r.MeasuredFrom.Equal(tt.measuredFrom) {
				t.Errorf("duration_s = %v from %v, want %v from %v", r.DurationS, r.MeasuredFrom, tt.durationS, tt.measuredFrom)
			}
			if r.Saturated != tt.saturated || r.Interrupted != tt.interrupted {
				t.Errorf("saturated %v interrupted %v, want %v %v", r.Saturated, r.Interrupted, tt.saturated, tt.interrupted)
			}
			if len(r.Errors) != tt.errors || len(r.Intervals) != tt.intervals {
				t.Errorf("%d errors %d intervals, want %d %d", len(r.Errors), len(r.Intervals), tt.errors, tt.intervals)
			}
			if r.Metrics["delivery"].Count != tt.deliveryCount {
				t.Errorf("delivery count = %d, want %d", r.Metrics["delivery"].Count, tt.deliveryCount)
			}
			// Every summary is what its own histogram says.
			for name, m := range r.Metrics {
				mt, _ := ParseMetric(name)
				want, err := summarize(tt.rec.Hists[mt])
				if err != nil {
					t.Fatal(err)
				}
				if m != want {
					t.Errorf("%s = %+v, want %+v", name, m, want)
				}
			}
		})
	}
}

func TestNewResultFields(t *testing.T) {
	rec := pushRecording(1, t0, 1000)
	r := mustResult(t, rec, pushMeta("h1"))
	d := r.Metrics["delivery"]
	h := rec.Hists[Delivery]
	if d.P99Ms != ms(h.Quantile(99)) || d.P999Ms != ms(h.Quantile(99.9)) || d.MaxMs != ms(h.Max()) || d.Negative != 1 {
		t.Errorf("delivery summary %+v does not match its histogram", d)
	}
	if r.Counters["lost"] != 3 || r.Counters["duplicates"] != 0 {
		t.Errorf("counters %v", r.Counters)
	}
	if e := r.Errors["conn_reset"]; e.Count != 2 || !strings.Contains(e.Example, "reset by peer") {
		t.Errorf("errors %v", r.Errors)
	}
	if iv := r.Intervals[3]; iv.TS != 3 || iv.Open != 50 || iv.HeadlineP99Ms != 5.111 {
		t.Errorf("interval 3 = %+v", iv)
	}
	if r.Hosts[0] != "h1" || r.Tool != (ToolInfo{ToolName, "0.3.0"}) || r.Target.Pattern != "sse" {
		t.Errorf("meta: %v %v %v", r.Hosts, r.Tool, r.Target)
	}
	// The result owns its params: changing the caller's map does not change it.
	meta := pushMeta("h1")
	meta.Params.Defaults = map[string]string{"a": "1"}
	r = mustResult(t, rec, meta)
	meta.Params.Defaults["a"] = "2"
	if r.Params.Defaults["a"] != "1" {
		t.Error("params.defaults aliases the caller's map")
	}
	if _, err := NewResult(nil, meta); err == nil {
		t.Error("NewResult(nil) did not fail")
	}
	if _, err := NewResult(rec, Meta{}); err == nil {
		t.Error("NewResult without a target did not fail")
	}
}

func sorted(s []string) []string {
	s = append([]string(nil), s...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}

func TestRoundTrip(t *testing.T) {
	for _, rec := range []*Recording{pushRecording(3, t0, 5000), pollRecording(4, t0)} {
		r := mustResult(t, rec, pushMeta("h1"))
		path := filepath.Join(t.TempDir(), "result.json")
		if err := WriteFile(path, r); err != nil {
			t.Fatal(err)
		}
		got, err := ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Errorf("round trip differs:\n%s\nwant\n%s", mustJSON(t, got), mustJSON(t, r))
		}
		for m, h := range rec.Hists {
			if h.Count() == 0 {
				continue
			}
			dh, err := got.Metrics[Metric(m).String()].Histogram()
			if err != nil {
				t.Fatal(err)
			}
			if !dh.Equal(h) {
				t.Errorf("%s: decoded histogram differs from the recorded one", Metric(m))
			}
		}
		sc, err := got.SelfCheck.Histogram()
		if err != nil || !sc.Equal(rec.SelfCheck) {
			t.Errorf("self_check histogram differs (%v)", err)
		}
	}
}

// The file's hdr is HdrHistogram's standard form, which any implementation
// decodes without rtbench.
func TestHDRIsStandard(t *testing.T) {
	rec := pushRecording(5, t0, 2000)
	r := mustResult(t, rec, pushMeta("h1"))
	s := r.Metrics["delivery"].HDR
	if !strings.HasPrefix(s, "HISTF") {
		t.Fatalf("hdr %.20q… is not the standard V2 compressed base64 form", s)
	}
	h, err := hdrhistogram.Decode([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	if !h.Equals(rec.Hists[Delivery].h) {
		t.Error("hdrhistogram.Decode of the file's hdr differs from the recorded histogram")
	}
}

// goldenFiles are the testdata results: realistic runs, the fuzz seeds and
// fixtures for the report package. go test -run TestGolden -update rewrites
// them.
var goldenFiles = map[string]func(t testing.TB) *Result{
	"sse.json": func(t testing.TB) *Result { return mustResult(t, pushRecording(1, t0, 3000), pushMeta("loadgen-1")) },
	"poll.json": func(t testing.TB) *Result {
		return mustResult(t, pollRecording(2, t0), Meta{
			Version: "0.3.0", URL: "http://127.0.0.1:8080/poll?rate=10", Pattern: "poll", Host: "loadgen-2",
			Params: Params{DurationS: 30, RatePerS: 200, MaxInFlight: 100, Defaults: map[string]string{"request_timeout": "10s"}},
		})
	},
	"sse-merged.json": func(t testing.TB) *Result {
		a := mustResult(t, pushRecording(1, t0, 3000), pushMeta("loadgen-1"))
		b := mustResult(t, pushRecording(6, t0.Add(400*time.Millisecond), 2000), pushMeta("loadgen-2"))
		m, err := Merge(a, b)
		if err != nil {
			t.Fatal(err)
		}
		return m
	},
}

func TestGolden(t *testing.T) {
	for name, build := range goldenFiles {
		t.Run(name, func(t *testing.T) {
			golden := filepath.Join("testdata", name)
			r := build(t)
			if updating() {
				if err := WriteFile(golden, r); err != nil {
					t.Fatal(err)
				}
			}
			tmp := filepath.Join(t.TempDir(), name)
			if err := WriteFile(tmp, r); err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update)", err)
			}
			got, _ := os.ReadFile(tmp)
			if !bytes.Equal(got, want) {
				t.Errorf("%s changed: the rtbench.result/v2 contract is fixed; if the change is intended, run -update and update docs/result-schema.md", golden)
			}
			read, err := ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(read, r) {
				t.Errorf("ReadFile(%s) differs from the result it was written from", golden)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	valid := mustJSON(t, mustResult(t, pushRecording(1, t0, 500), pushMeta("h1")))
	other := NewHist()
	other.Record(time.Millisecond)
	other.h = hdrhistogram.New(1, 1000, 2)
	_ = other.h.RecordValue(5)
	otherHDR, _ := encodeHDR(other)
	deliveryHDR := func() string {
		var r Result
		_ = json.Unmarshal([]byte(valid), &r)
		return r.Metrics["delivery"].HDR
	}()
	tests := []struct {
		name, input, want string
	}{
		{"empty", "", "not an rtbench result: not JSON"},
		{"not JSON", "delivery p99 12ms\n", "not an rtbench result: not JSON (at byte 1"},
		{"array", "[1,2]", "not an rtbench result: not a JSON object"},
		{"no schema", `{"metrics":{}}`, `not an rtbench result: no "schema" field`},
		{"schema not a string", `{"schema":1}`, `"schema" is not a string`},
		{"k6 summary", `{"schema":"k6.summary/v2"}`, `not an rtbench result: schema "k6.summary/v2" (want "rtbench.result/v2")`},
		{"future version", strings.Replace(valid, SchemaV2, "rtbench.result/v3", 1), `schema "rtbench.result/v3" is not supported: this rtbench reads "rtbench.result/v2" and "rtbench.result/v1"`},
		{"wrong type", strings.Replace(valid, `"connections": 50`, `"connections": "50"`, 1), "field params.connections: string where int was expected"},
		{"hdr not base64", strings.Replace(valid, deliveryHDR, "!!!", 1), "field metrics.delivery.hdr: histogram is not base64"},
		{"hdr truncated", strings.Replace(valid, deliveryHDR, deliveryHDR[:40], 1), "field metrics.delivery.hdr:"},
		{"hdr other geometry", strings.Replace(valid, deliveryHDR, otherHDR, 1), "field metrics.delivery.hdr: histogram has range 1..1000 µs with 2 digits"},
		{"count mismatch", strings.Replace(valid, `"count": 501`, `"count": 500`, 1), "field metrics.delivery.hdr: holds 501 values but count is 500"},
		{"negative error count", strings.Replace(valid, `"count": 2,
      "example": "read tcp`, `"count": -2,
      "example": "read tcp`, 1), "field errors.conn_reset.count: negative"},
		{"outage recovered more than lost", strings.Replace(valid, `"recovered": 2,`, `"recovered": 3,`, 1), "field outages[0]: 3 of 2 sessions recovered"},
		{"outage back before it started", strings.Replace(valid, `"first_back": "2025-03-14T09:27:00.089793238Z"`, `"first_back": "2025-03-14T09:20:00Z"`, 1), "field outages[0]: first_back or end before start"},
		{"intervals out of order", strings.Replace(valid, `"t_s": 3,`, `"t_s": 1,`, 1), "field intervals[3].t_s: 1 is out of order"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.input == valid {
				t.Fatal("the test input did not change the valid result")
			}
			_, err := Decode(strings.NewReader(tt.input))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Decode error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	if _, err := Decode(strings.NewReader(valid)); err != nil {
		t.Errorf("the valid result does not decode: %v", err)
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("ReadFile of a missing file did not fail")
	}
}

// dirEntries lists the names in dir.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteFile(t *testing.T) {
	good := mustResult(t, pushRecording(1, t0, 100), pushMeta("h1"))
	nan := *good
	nan.DurationS = math.NaN()
	tests := []struct {
		name    string
		setup   func(dir string) string // returns the path to write
		r       *Result
		wantErr string
		left    []string // the directory's entries afterwards
	}{
		{"new file", func(dir string) string { return filepath.Join(dir, "r.json") }, good, "", []string{"r.json"}},
		{"replaces a file", func(dir string) string {
			p := filepath.Join(dir, "r.json")
			_ = os.WriteFile(p, []byte("old"), 0o644)
			return p
		}, good, "", []string{"r.json"}},
		{"rename fails", func(dir string) string {
			p := filepath.Join(dir, "r.json")
			_ = os.Mkdir(p, 0o755) // a directory cannot be replaced by a file
			return p
		}, good, "write result", []string{"r.json"}},
		{"no directory", func(dir string) string { return filepath.Join(dir, "nope", "r.json") }, good, "no such file", nil},
		{"unencodable", func(dir string) string { return filepath.Join(dir, "r.json") }, &nan, "unsupported value", nil},
		{"not a result", func(dir string) string { return filepath.Join(dir, "r.json") }, &Result{}, "not a rtbench.result/v2 result", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := tt.setup(dir)
			err := WriteFile(path, tt.r)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("WriteFile error = %v, want %q", err, tt.wantErr)
			}
			if got := dirEntries(t, dir); strings.Join(got, ",") != strings.Join(tt.left, ",") {
				t.Errorf("directory holds %v afterwards, want %v (no temporary file left behind)", got, tt.left)
			}
			if err == nil {
				fi, _ := os.Stat(path)
				if fi.Mode().Perm() != 0o644 {
					t.Errorf("mode %v, want 0644", fi.Mode().Perm())
				}
				if _, err := ReadFile(path); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// FuzzDecode checks, for any bytes: Decode never panics, and refuses with
// one line; a result it accepts re-encodes to JSON that decodes to the same
// result; and that result merges with its copy into a result that encodes
// and decodes again (what `rtbench report a.json b.json` does), with every
// histogram count, counter and error count doubled, or Merge refuses with
// one line.
func FuzzDecode(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	if len(seeds) == 0 {
		f.Fatal("no testdata/*.json seeds: run go test -run TestGolden -update")
	}
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// A small valid result, so that mutations reach the histogram checks.
	small := NewRecording()
	small.Start, small.End = t0, t0.Add(2*time.Second)
	small.Hists[Delivery].Record(3 * time.Millisecond)
	small.Intervals = []Interval{{T: 0, Events: 1}, {T: time.Second}}
	b, err := json.Marshal(mustResult(f, small, Meta{URL: "u", Pattern: "p", Host: "h"}))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	for _, s := range []string{
		`{"schema":"rtbench.result/v1","metrics":{"x":{"count":0,"hdr":"HISTFAAAAA=="}}}`,
		`{"schema":"rtbench.result/v1","intervals":[{"t_s":0},{"t_s":1e300}]}`,
		`{"schema":"rtbench.result/v1","started_at":"2025-01-01T00:00:00.5Z","intervals":[{"t_s":-0.9},{"t_s":604800}]}`,
		`{"schema":"rtbench.result/v1","counters":{"events":9223372036854775807},"errors":{"reset":{"count":9223372036854775807,"example":"x"}}}`,
		`{"schema":"rtbench.result/v1","params":{"rate_per_s":0.1234565,"stages":[{"duration_s":1,"target":1e308}]}}`,
		`{"schema":"rtbench.result/v2"}`, `{"schema":1}`, `[]`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Decode(bytes.NewReader(data))
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("a Decode error of more than one line: %q", err)
			}
			return
		}
		// What decodes re-encodes to the same result.
		b1 := mustJSON(t, r)
		r2, err := Decode(strings.NewReader(b1))
		if err != nil {
			t.Fatalf("a decoded result does not decode again: %v\n%s", err, b1)
		}
		if b2 := mustJSON(t, r2); b1 != b2 {
			t.Fatalf("re-encoding changed the result:\n%s\n%s", b1, b2)
		}
		// It merges with itself, or Merge says why not in one line. (Not
		// when its intervals span hours: the merge would hold one interval
		// per second, too slow to fuzz.)
		if n := len(r.Intervals); n > 0 && r.Intervals[n-1].TS-r.Intervals[0].TS > 3600 {
			return
		}
		m, err := Merge(r, r2)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "merge: ") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("a Merge error that is not one line starting with merge: %q", err)
			}
			return
		}
		mb, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("the merged result does not encode: %v", err)
		}
		m2, err := Decode(bytes.NewReader(mb))
		if err != nil {
			t.Fatalf("the merged result does not decode: %v\n%s", err, mb)
		}
		if mb2, _ := json.Marshal(m2); !bytes.Equal(mb, mb2) {
			t.Fatalf("re-encoding changed the merged result:\n%s\n%s", mb, mb2)
		}
		for name, x := range r.Metrics {
			if got := m.Metrics[name].Count; got != 2*x.Count {
				t.Fatalf("metrics.%s: %d values merged with themselves give %d", name, x.Count, got)
			}
		}
		for name, n := range r.Counters {
			if m.Counters[name] != 2*n {
				t.Fatalf("counters.%s: %d merged with itself gives %d", name, n, m.Counters[name])
			}
		}
		for class, e := range r.Errors {
			if got := m.Errors[class]; got.Count != 2*e.Count || got.Example != e.Example {
				t.Fatalf("errors.%s: %+v merged with itself gives %+v", class, e, got)
			}
		}
	})
}

// splitRecording records samples into a histogram of all of them and into
// len(parts) recordings' delivery histograms, at random.
func splitSamples(rng *rand.Rand, samples []time.Duration, parts []*Recording) *Hist {
	all := NewHist()
	for _, d := range samples {
		all.Record(d)
		parts[rng.IntN(len(parts))].Hists[Delivery].Record(d)
	}
	return all
}

func TestMergeExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	var samples []time.Duration
	for range 20000 {
		samples = append(samples, lognormal(rng, 3*time.Millisecond, 1.2))
	}
	samples = append(samples, -2*time.Millisecond, 2*time.Hour) // a negative and an overflow
	recs := []*Recording{pushRecording(11, t0, 0), pushRecording(12, t0, 0), pushRecording(13, t0, 0)}
	for _, r := range recs {
		r.Hists[Delivery].Reset()
	}
	all := splitSamples(rng, samples, recs)
	var rs []*Result
	for i, rec := range recs {
		rs = append(rs, mustResult(t, rec, pushMeta(string(rune('a'+i)))))
	}
	m, err := Merge(rs...)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Metrics["delivery"].Histogram()
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(all) {
		t.Error("the merged histogram is not the histogram of all samples")
	}
	want, _ := summarize(all)
	if m.Metrics["delivery"] != want {
		t.Errorf("merged summary %+v, want %+v (the summary of all samples)", m.Metrics["delivery"], want)
	}
	if m.Metrics["delivery"].Overflow != 1 || m.Metrics["delivery"].Negative != 1 {
		t.Errorf("overflow/negative not carried: %+v", m.Metrics["delivery"])
	}
}

// Averaging per-host p99s is wrong; Merge is not fooled. Host a: 100
// requests at 2 ms; host b: 10,000 at 1 ms. The average of the p99s is
// 1.5 ms, but 99 % of all 10,100 requests took 1 ms.
func TestMergeIsNotAnAverage(t *testing.T) {
	a, b := NewRecording(), NewRecording()
	for _, r := range []*Recording{a, b} {
		r.Start, r.End = t0, t0.Add(time.Second)
	}
	for range 100 {
		a.Hists[Request].Record(2 * time.Millisecond)
	}
	for range 10000 {
		b.Hists[Request].Record(time.Millisecond)
	}
	ra, rb := mustResult(t, a, pushMeta("a")), mustResult(t, b, pushMeta("b"))
	avg := (ra.Metrics["request"].P99Ms + rb.Metrics["request"].P99Ms) / 2
	m, err := Merge(ra, rb)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Metrics["request"].P99Ms; got != 1 || avg != 1.5 {
		t.Errorf("merged p99 = %v ms (average of p99s %v ms), want 1 ms", got, avg)
	}
	if got := m.Metrics["request"].MaxMs; got != 2 {
		t.Errorf("merged max = %v ms, want 2", got)
	}
}

func TestMergeAlgebra(t *testing.T) {
	ma, mb, mc := pushMeta("a"), pushMeta("b"), pushMeta("c")
	ma.Params.Connections, ma.Params.RatePerS = 10, 0.1
	mb.Params.Connections, mb.Params.RatePerS = 20, 0.2
	mc.Params.Connections, mc.Params.RatePerS = 30, 0.3
	mb.Version = "0.3.1"
	recA := pushRecording(21, t0, 1000)
	recB := pushRecording(22, t0.Add(1700*time.Millisecond), 3000)
	recC := pollRecording(23, t0.Add(-900*time.Millisecond)) // other metrics, interrupted, saturated
	recB.Errors[transport.ClassReset] = &ErrorCount{Count: 1, Example: "connection reset by peer"}
	recC.Errors[transport.ClassReset] = &ErrorCount{Count: 5, Example: "read: connection reset by peer"}
	recA.Reason, recA.Interrupted = "deadline", true
	a, b, c := mustResult(t, recA, ma), mustResult(t, recB, mb), mustResult(t, recC, mc)

	merge := func(rs ...*Result) *Result {
		t.Helper()
		m, err := Merge(rs...)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	want := mustJSON(t, merge(a, b, c))
	for name, got := range map[string]*Result{
		"(ab)c": merge(merge(a, b), c),
		"a(bc)": merge(a, merge(b, c)),
		"(ac)b": merge(merge(a, c), b),
		"cba":   merge(c, b, a),
		"bac":   merge(b, a, c),
		"c(ba)": merge(c, merge(b, a)),
	} {
		if g := mustJSON(t, got); g != want {
			t.Errorf("%s differs from abc:\n%s\nwant\n%s", name, g, want)
		}
	}

	m := merge(a, b, c)
	checks := []struct {
		name      string
		got, want any
	}{
		{"hosts", strings.Join(m.Hosts, ","), "a,b,c"},
		{"connections", m.Params.Connections, 60},
		{"rate", m.Params.RatePerS, 0.6},
		{"version", m.Tool.Version, "0.3.0, 0.3.1"},
		{"started", m.StartedAt, c.StartedAt},
		{"ended", m.EndedAt, b.EndedAt},
		{"measured from", m.MeasuredFrom, c.MeasuredFrom},
		{"duration", m.DurationS, b.EndedAt.Sub(c.MeasuredFrom).Seconds()},
		{"interrupted", m.Interrupted, true},
		{"reason", m.Reason, "deadline; interrupt"},
		{"saturated", m.Saturated, true},
		{"events", m.Counters["events"], a.Counters["events"] + b.Counters["events"] + c.Counters["events"]},
		{"resets", m.Errors["conn_reset"], ErrorResult{Count: 8, Example: "connection reset by peer"}},
		{"503s", m.Errors["http_5xx"], ErrorResult{Count: c.Errors["http_5xx"].Count + 6, Example: "503 Service Unavailable",
			Codes: map[string]int64{"503": 4, "502": 2}}},
		{"delivery count", m.Metrics["delivery"].Count, a.Metrics["delivery"].Count + b.Metrics["delivery"].Count},
		{"request count", m.Metrics["request"].Count, c.Metrics["request"].Count},
		{"self check", m.SelfCheck.Count, a.SelfCheck.Count + b.SelfCheck.Count + c.SelfCheck.Count},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
}

func TestMergeIntervals(t *testing.T) {
	at := func(s float64) time.Time { return time.Unix(1_700_000_000, 0).Add(time.Duration(s * 1e9)).UTC() }
	run := func(host string, start float64, events ...int64) *Result {
		rec := NewRecording()
		rec.Start, rec.End = at(start), at(start+float64(len(events)))
		for i, n := range events {
			rec.Intervals = append(rec.Intervals, Interval{T: time.Duration(i) * time.Second, Events: n, Open: 1, HeadlineP99: time.Duration(n) * time.Millisecond})
		}
		return mustResult(t, rec, pushMeta(host))
	}
	tests := []struct {
		name   string
		rs     []*Result
		ts     []float64
		events []int64
		p99    []float64
	}{
		// a starts at .5: its seconds fall in wall seconds 10, 11, 12; b at
		// 11.2: in 11 and 12.
		{"overlap", []*Result{run("a", 10.5, 1, 2, 3), run("b", 11.2, 10, 20)}, []float64{-0.5, 0.5, 1.5}, []int64{1, 12, 23}, []float64{1, 10, 20}},
		// A gap between runs is filled with empty seconds.
		{"gap", []*Result{run("a", 10, 1), run("b", 13.9, 5)}, []float64{0, 1, 2, 3}, []int64{1, 0, 0, 5}, []float64{1, 0, 0, 5}},
		// One result alone is aligned too.
		{"single", []*Result{run("a", 7.25, 4, 5)}, []float64{-0.25, 0.75}, []int64{4, 5}, []float64{4, 5}},
		{"none", []*Result{run("a", 1), run("b", 2)}, nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Merge(tt.rs...)
			if err != nil {
				t.Fatal(err)
			}
			var ts, p99 []float64
			var events []int64
			for _, iv := range m.Intervals {
				ts, events, p99 = append(ts, iv.TS), append(events, iv.Events), append(p99, iv.HeadlineP99Ms)
			}
			if !reflect.DeepEqual(ts, tt.ts) || !reflect.DeepEqual(events, tt.events) || !reflect.DeepEqual(p99, tt.p99) {
				t.Errorf("intervals t_s %v events %v p99 %v, want %v %v %v", ts, events, p99, tt.ts, tt.events, tt.p99)
			}
			// Merging the merge with nothing new changes nothing.
			again, err := Merge(m)
			if err != nil {
				t.Fatal(err)
			}
			if mustJSON(t, again) != mustJSON(t, m) {
				t.Error("re-merging a merged result moved its intervals")
			}
		})
	}
}

func TestMergeMismatch(t *testing.T) {
	base := mustResult(t, pushRecording(1, t0, 10), pushMeta("a"))
	tests := []struct {
		name   string
		change func(m *Meta)
		want   string
	}{
		{"url", func(m *Meta) { m.URL = "http://other/sse" }, `target.url differs: "http://127.0.0.1:8080/sse?rate=10" vs "http://other/sse"`},
		{"pattern", func(m *Meta) { m.Pattern = "ws" }, `target.pattern differs: "sse" vs "ws"`},
		{"duration", func(m *Meta) { m.Params.DurationS = 60 }, "params.duration_s differs: 10 vs 60"},
		{"warmup", func(m *Meta) { m.Params.WarmupS = 0 }, "params.warmup_s differs: 2 vs 0"},
		{"ramp time", func(m *Meta) { m.Params.Ramp.TimeS = 5 }, "params.ramp.time_s differs"},
		{"stages", func(m *Meta) { m.Params.Stages = []StageParams{{DurationS: 5, Target: 10}} }, "the number of params.stages differs: 0 vs 1"},
		{"default", func(m *Meta) {
			m.Params.Defaults = map[string]string{"ttfb_timeout": "5s", "idle_timeout": "30s", "max_event_bytes": "1048576", "reconnect": "spec"}
		}, `params.defaults.ttfb_timeout differs: "10s" vs "5s"`},
		{"default unset", func(m *Meta) { m.Params.Defaults = map[string]string{"x": "1"} }, `params.defaults.idle_timeout differs: "30s" vs (unset)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			meta := pushMeta("b")
			meta.Params.Defaults = maps.Clone(meta.Params.Defaults)
			tt.change(&meta)
			other := mustResult(t, pushRecording(2, t0, 10), meta)
			_, err := Merge(base, other)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "results 1 (a) and 2 (b) are not the same test") {
				t.Errorf("Merge error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	// Stage targets are load amounts: summed when the durations agree.
	m1, m2 := pushMeta("a"), pushMeta("b")
	m1.Params.Stages = []StageParams{{DurationS: 5, Target: 10}, {DurationS: 5, Target: 0}}
	m2.Params.Stages = []StageParams{{DurationS: 5, Target: 30}, {DurationS: 5, Target: 0}}
	m, err := Merge(mustResult(t, pushRecording(1, t0, 10), m1), mustResult(t, pushRecording(1, t0, 10), m2))
	if err != nil || m.Params.Stages[0].Target != 40 || m1.Params.Stages[0].Target != 10 {
		t.Errorf("stages %+v (%v); the input's stages must stay untouched: %+v", m.Params.Stages, err, m1.Params.Stages)
	}
	bad := *base
	bad.Metrics = map[string]MetricResult{"delivery": {Count: 1, HDR: "xx"}}
	for _, rs := range [][]*Result{nil, {base, nil}, {base, &bad}, {base, {Schema: "x"}}} {
		if _, err := Merge(rs...); err == nil {
			t.Errorf("Merge(%d results) did not fail", len(rs))
		}
	}
}

// TestDecodeV1: a result saved by an rtbench that wrote v1 (a real file,
// kept as it was) is read as v2: its connect, which meant dial start →
// response headers, becomes handshake; nothing is called connect, since v1
// had no TCP + TLS figure.
func TestDecodeV1(t *testing.T) {
	raw, err := os.ReadFile("testdata/v1/sse.json")
	if err != nil {
		t.Fatal(err)
	}
	var old struct {
		Schema  string                  `json:"schema"`
		Metrics map[string]MetricResult `json:"metrics"`
	}
	if err := json.Unmarshal(raw, &old); err != nil {
		t.Fatal(err)
	}
	if old.Schema != SchemaV1 || old.Metrics["connect"].Count == 0 {
		t.Fatalf("testdata/v1/sse.json: schema %q, connect %d values: want a v1 file with connect", old.Schema, old.Metrics["connect"].Count)
	}
	r, err := ReadFile("testdata/v1/sse.json")
	if err != nil {
		t.Fatal(err)
	}
	if r.Schema != SchemaV2 {
		t.Errorf("schema %q, want %q after the upgrade", r.Schema, SchemaV2)
	}
	if _, ok := r.Metrics["connect"]; ok {
		t.Error("v1 connect is still called connect")
	}
	if !reflect.DeepEqual(r.Metrics["handshake"], old.Metrics["connect"]) {
		t.Errorf("handshake %+v, want v1's connect %+v", r.Metrics["handshake"], old.Metrics["connect"])
	}
	// Upgraded, it merges with and writes like any v2 result.
	if _, err := Merge(r, r); err != nil {
		t.Errorf("merge of an upgraded v1 result: %v", err)
	}
	if err := WriteFile(filepath.Join(t.TempDir(), "r.json"), r); err != nil {
		t.Errorf("write of an upgraded v1 result: %v", err)
	}
}

// TestUpgradeV1TPOT: v1 recorded tpot per chunk for streams without usage;
// a run whose every request lacked usage has its tpot read as tpot_chunk,
// a run that mixed both keeps tpot.
func TestUpgradeV1TPOT(t *testing.T) {
	for _, tc := range []struct {
		name             string
		deltas, requests int64
		want             string
	}{
		{"no request had usage", 10, 10, "tpot_chunk"},
		{"every request had usage", 0, 10, "tpot"},
		{"mixed", 4, 10, "tpot"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Result{Schema: SchemaV1, Metrics: map[string]MetricResult{"tpot": {Count: 10}},
				Counters: map[string]int64{"tokens_from_deltas": tc.deltas, "requests": tc.requests}}
			upgradeV1(r)
			if _, ok := r.Metrics[tc.want]; !ok || len(r.Metrics) != 1 {
				t.Errorf("metrics %v, want only %s", slices.Collect(maps.Keys(r.Metrics)), tc.want)
			}
		})
	}
}

// TestResultClock: a result names the payload clock delivery came from and
// calls it coarse when it ticks more slowly than the median delivery.
func TestResultClock(t *testing.T) {
	for _, tc := range []struct {
		res    time.Duration
		coarse bool
	}{{time.Millisecond, true}, {100 * time.Nanosecond, false}} {
		rec := NewRecording()
		rec.Start, rec.End = time.Unix(100, 0), time.Unix(101, 0)
		for range 10 {
			rec.Hists[Delivery].Record(400 * time.Microsecond)
		}
		rec.Clock = ClockSource{Field: "time", Unit: "ms", Res: tc.res}
		r, err := NewResult(rec, Meta{URL: "http://x/", Pattern: "sse"})
		if err != nil {
			t.Fatal(err)
		}
		if c := r.Clock; c == nil || c.Field != "time" || c.Unit != "ms" || c.ResolutionMs != ms(tc.res) || c.Coarse != tc.coarse {
			t.Errorf("resolution %v: clock %+v, want coarse %v", tc.res, c, tc.coarse)
		}
		m, err := Merge(r, r)
		if err != nil || m.Clock == nil || *m.Clock != *r.Clock {
			t.Errorf("merged clock %+v, %v; want %+v", m.Clock, err, r.Clock)
		}
	}
}
