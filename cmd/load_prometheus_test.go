package cmd

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/rtbench/rtbench/transport/mock"
	"github.com/rtbench/rtbench/transport/transporttest"
)

// ecoScrape GETs url and parses it as the Prometheus text format.
func ecoScrape(t *testing.T, url string) (map[string]*dto.MetricFamily, error) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if ft := expfmt.ResponseFormat(resp.Header).FormatType(); ft != expfmt.TypeTextPlain {
		t.Fatalf("GET %s: Content-Type %q is not the text format", url, resp.Header.Get("Content-Type"))
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: not valid Prometheus text: %v", url, err)
	}
	return fams, nil
}

// ecoValue is the value of the first series of name whose labels include
// the given pairs (a summary's count); ok is false when there is none.
func ecoValue(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.Label {
				found = found || (l.GetName() == labels[i] && l.GetValue() == labels[i+1])
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Summary != nil:
			return float64(m.Summary.GetSampleCount()), true
		}
	}
	return 0, false
}

// TestLoadPrometheus: `load --prometheus 127.0.0.1:0` serves the live run
// at /metrics in valid Prometheus text (sessions, events, latency), and the
// listener is gone when the run ends.
func TestLoadPrometheus(t *testing.T) {
	base := startMock(t, mock.Config{})
	env, _, _ := TestEnv()
	errOut := &syncBuffer{ch: make(chan struct{}, 1)}
	env.ErrOut = errOut
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, env, BuildInfo{Version: "test"}, []string{"load", "-c", "3", "-d", "3s", "--prometheus", "127.0.0.1:0", base + "/sse?rate=20"})
	}()

	var url string
	for url == "" {
		select {
		case <-errOut.ch:
		case code := <-done:
			t.Fatalf("load exited %d before serving metrics: %s", code, errOut.String())
		}
		if _, rest, ok := strings.Cut(errOut.String(), "Prometheus metrics at "); ok {
			url, _, _ = strings.Cut(rest, " ")
		}
	}
	if !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.HasSuffix(url, "/metrics") {
		t.Fatalf("metrics URL %q", url)
	}
	// The first snapshot comes with the engine's first tick, after 1 s.
	var fams map[string]*dto.MetricFamily
	transporttest.Eventually(t, 5*time.Second, "a scrape with events and delivery latencies", func() bool {
		var err error
		if fams, err = ecoScrape(t, url); err != nil {
			t.Fatalf("scrape during the run: %v", err)
		}
		ev, _ := ecoValue(fams, "rtbench_load_events_total")
		_, lat := ecoValue(fams, "rtbench_load_latency_seconds", "metric", "delivery")
		return ev > 0 && lat
	})
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"rtbench_load_info", []string{"version", "test", "pattern", "sse"}, 1},
		{"rtbench_load_sessions_open", nil, 3},
		{"rtbench_load_sessions_target", nil, 3},
		{"rtbench_load_connects_total", nil, 3},
		{"rtbench_load_reconnects_total", nil, 0},
	} {
		if got, ok := ecoValue(fams, c.name, c.labels...); !ok || got != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if _, ok := ecoValue(fams, "go_goroutines"); !ok {
		t.Error("no go_goroutines series")
	}
	if fams["rtbench_load_errors_total"] != nil && len(fams["rtbench_load_errors_total"].Metric) > 0 {
		t.Errorf("errors against a healthy mock: %v", fams["rtbench_load_errors_total"])
	}

	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("load exited %d: %s", code, errOut.String())
		}
	case <-ctx.Done():
		t.Fatal("load did not end")
	}
	if _, err := ecoScrape(t, url); err == nil {
		t.Errorf("%s still answers after the run", url)
	}
}

// TestLoadPrometheusFlags: --prometheus takes host:port on loopback unless
// --prometheus-allow-remote says otherwise; mistakes are usage errors.
func TestLoadPrometheusFlags(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string // "" when the flags are valid
	}{
		{[]string{"--prometheus", "127.0.0.1:9464"}, ""},
		{[]string{"--prometheus", "localhost:0"}, ""},
		{[]string{"--prometheus", "[::1]:9464"}, ""},
		{[]string{"--prometheus", "0.0.0.0:9464", "--prometheus-allow-remote"}, ""},
		{[]string{"--prometheus", "0.0.0.0:9464"}, "--prometheus-allow-remote"},
		{[]string{"--prometheus", "9464"}, "want host:port"},
		{[]string{"--prometheus", "127.0.0.1:metrics"}, "not a port number"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			env, _, errOut := TestEnv()
			var got *LoadOptions
			c := NewCmdLoad(env, func(_ context.Context, o *LoadOptions) error { got = o; return nil })
			c.SetArgs(append(tt.args, "http://127.0.0.1:1/sse"))
			c.SetOut(env.Out)
			c.SetErr(errOut)
			err := c.ExecuteContext(t.Context())
			switch {
			case tt.wantErr == "" && (err != nil || got == nil || got.Prometheus != tt.args[1]):
				t.Errorf("err %v, options %+v; want --prometheus %s accepted", err, got, tt.args[1])
			case tt.wantErr != "" && (err == nil || exitCode(err) != ExitUsage || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("err %v; want a usage error mentioning %q", err, tt.wantErr)
			}
		})
	}
	// A port in use fails before the run, as a usage error.
	ln := startMock(t, mock.Config{})
	code, _, stderr := runLoad(t, t.Context(), "-c", "1", "-d", "1s", "--prometheus", strings.TrimPrefix(ln, "http://"), ln+"/sse")
	if code != ExitUsage || !strings.Contains(stderr, "--prometheus") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("--prometheus on a busy port: exit %d, stderr %q; want 2 and one line", code, stderr)
	}
}

// TestServeMetricsExposition: serve's GET /metrics is valid Prometheus
// text, with its documented series.
func TestServeMetricsExposition(t *testing.T) {
	base := startMock(t, mock.Config{})
	fams, err := ecoScrape(t, base+"/metrics")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"rtbench_serve_open_connections", "rtbench_serve_events_sent_total", "rtbench_serve_bytes_sent_total",
		"rtbench_serve_messages_published_total", "rtbench_serve_requests_rejected_total", "rtbench_serve_uptime_seconds"} {
		if fams[name] == nil {
			t.Errorf("no %s", name)
		}
	}
	if _, ok := ecoValue(fams, "rtbench_serve_open_connections", "pattern", "sse"); !ok {
		t.Error("no rtbench_serve_open_connections{pattern=\"sse\"}")
	}
}
