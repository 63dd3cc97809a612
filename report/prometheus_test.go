package report

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/transporttest"
)

// liveDetail is a run's detail as the engine would give it.
func liveDetail() *bench.ProgressDetail {
	d := &bench.ProgressDetail{Errors: map[transport.Class]int64{transport.ClassReset: 3, transport.ClassRefused: 12}}
	d.Counters[bench.Events] = 48000
	d.Counters[bench.Bytes] = 4_800_000
	d.Counters[bench.Connects] = 510
	d.Counters[bench.Reconnects] = 10
	d.Counters[bench.Lost] = 2
	d.Counters[bench.SessionsStarted] = 500
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	d.Latency = []bench.LatencySummary{
		{Metric: bench.Connect, Count: 510, Sum: ms(510 * 1.5), Max: ms(12),
			Quantiles: [len(bench.ProgressQuantiles)]time.Duration{ms(1.2), ms(2), ms(2.5), ms(8), ms(12)}},
		{Metric: bench.Delivery, Count: 48000, Sum: ms(48000 * 3), Max: ms(40),
			Quantiles: [len(bench.ProgressQuantiles)]time.Duration{ms(2.5), ms(4), ms(5), ms(9.5), ms(31)}},
	}
	return d
}

func liveFixtures() []struct {
	name string
	s    *bench.Progress
} {
	closed := bench.Progress{Elapsed: 12 * time.Second, Open: 480, Target: 500, Errors: 15, Detail: liveDetail()}
	open := bench.Progress{Elapsed: 75 * time.Second, Open: 12, Rate: 200, Detail: &bench.ProgressDetail{}}
	open.Detail.Counters[bench.Requests] = 15000
	open.Detail.Counters[bench.Dropped] = 7
	return []struct {
		name string
		s    *bench.Progress
	}{
		{"before-first-tick", nil},
		{"warmup-no-detail", &bench.Progress{Elapsed: 2 * time.Second, Warmup: true, Open: 20, Target: 50}},
		{"closed", &closed},
		{"open", &open},
	}
}

// TestLiveMetricsExposition: the text exposition of each kind of snapshot,
// byte for byte, through a pedantic registry (which checks the series
// against their descriptions), and clean for promlint.
func TestLiveMetricsExposition(t *testing.T) {
	for _, tt := range liveFixtures() {
		t.Run(tt.name, func(t *testing.T) {
			m := NewLiveMetrics(LiveInfo{Version: "1.2.3", Pattern: "sse", RunID: "r-1", Agent: 0})
			if tt.s != nil {
				m.Update(*tt.s)
			}
			reg := prometheus.NewPedanticRegistry()
			reg.MustRegister(m)
			fams, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			enc := expfmt.NewEncoder(&got, expfmt.NewFormat(expfmt.TypeTextPlain))
			for _, f := range fams {
				if err := enc.Encode(f); err != nil {
					t.Fatal(err)
				}
			}
			transporttest.Golden(t, "prometheus/"+tt.name+".txt", got.Bytes(), *update)
			problems, err := promlint.NewWithMetricFamilies(fams).Lint()
			if err != nil || len(problems) > 0 {
				t.Errorf("promlint: %v %+v", err, problems)
			}
		})
	}
}

// TestLiveMetricsHandler: GET /metrics parses as the Prometheus text format
// and carries the run's series next to the Go runtime's, with the values of
// the latest snapshot.
func TestLiveMetricsHandler(t *testing.T) {
	m := NewLiveMetrics(LiveInfo{Version: "dev", Pattern: "ws", RunID: "nightly-7", Agent: 3})
	m.Update(bench.Progress{Elapsed: time.Second, Open: 1, Target: 1})
	m.Update(*liveFixtures()[2].s)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || expfmt.ResponseFormat(resp.Header).FormatType() != expfmt.TypeTextPlain {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("not the Prometheus text format: %v", err)
	}
	value := func(name string, labels ...string) float64 {
		t.Helper()
		f := fams[name]
		if f == nil {
			t.Fatalf("no %s", name)
		}
	next:
		for _, mt := range f.Metric {
			for i := 0; i+1 < len(labels); i += 2 {
				if !hasLabel(mt, labels[i], labels[i+1]) {
					continue next
				}
			}
			switch {
			case mt.Counter != nil:
				return mt.Counter.GetValue()
			case mt.Gauge != nil:
				return mt.Gauge.GetValue()
			case mt.Summary != nil:
				return float64(mt.Summary.GetSampleCount())
			}
		}
		t.Fatalf("no %s%v", name, labels)
		return 0
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"rtbench_load_info", []string{"version", "dev", "pattern", "ws"}, 1},
		// Every series carries the run and the agent, so agents sum up.
		{"rtbench_load_info", []string{"run_id", "nightly-7", "agent", "3"}, 1},
		{"rtbench_load_sessions_open", []string{"run_id", "nightly-7", "agent", "3"}, 480},
		{"rtbench_load_errors_total", []string{"class", "conn_refused", "run_id", "nightly-7", "agent", "3"}, 12},
		{"rtbench_load_sessions_open", nil, 480},
		{"rtbench_load_sessions_target", nil, 500},
		{"rtbench_load_events_total", nil, 48000},
		{"rtbench_load_reconnects_total", nil, 10},
		{"rtbench_load_dropped_total", nil, 0},
		{"rtbench_load_errors_total", []string{"class", "conn_refused"}, 12},
		{"rtbench_load_errors_total", []string{"class", "conn_reset"}, 3},
		{"rtbench_load_latency_seconds", []string{"metric", "delivery"}, 48000},
		{"rtbench_load_latency_max_seconds", []string{"metric", "delivery"}, 0.04},
	} {
		if got := value(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	for _, mt := range fams["rtbench_load_latency_seconds"].Metric {
		if !hasLabel(mt, "metric", "delivery") {
			continue
		}
		got := map[float64]float64{}
		for _, q := range mt.Summary.Quantile {
			got[q.GetQuantile()] = q.GetValue()
		}
		if len(got) != 5 || got[0.5] != 0.0025 || got[0.99] != 0.0095 || got[0.999] != 0.031 || mt.Summary.GetSampleSum() != 144 {
			t.Errorf("delivery quantiles %v, sum %v; want p50 0.0025, p99 0.0095, p99.9 0.031 of 5, sum 144", got, mt.Summary.GetSampleSum())
		}
	}
	if fams["go_goroutines"] == nil {
		t.Error("no Go runtime series")
	}
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, l := range m.Label {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

// TestLiveMetricsConcurrent: the engine updates while scrapes render.
func TestLiveMetricsConcurrent(t *testing.T) {
	m := NewLiveMetrics(LiveInfo{Version: "dev", Pattern: "sse"})
	h := m.Handler()
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 50 {
			s := *liveFixtures()[2].s
			s.Elapsed = time.Duration(i) * time.Second
			m.Update(s)
		}
	})
	for range 5 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if rec.Code != 200 || !bytes.Contains(rec.Body.Bytes(), []byte("rtbench_load_info")) {
			t.Errorf("scrape: %d %.200s", rec.Code, rec.Body)
		}
	}
	wg.Wait()
	var nilM *LiveMetrics
	nilM.Update(bench.Progress{}) // does nothing
}
