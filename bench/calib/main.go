// Command calib is the calibration target of bench/scripts/calibrate.sh: an
// HTTP server whose latencies are known because it injects them, and which
// records every delay it applied in an HdrHistogram (the truth), so that
// what rtbench measured can be compared with it.
//
//	calib serve -addr 127.0.0.1:18097
//	calib ref -url http://127.0.0.1:18097/fixed?d=20ms -rate 200 -d 10s -out ref.json
//	calib compare -truth http://127.0.0.1:18097/truth -result r.json -metric request [-loopback loop.json]
//
// Routes (every delay is recorded in the truth histogram of its route as it
// was applied, measured from the handler's start to its answer, so the
// server's own timer lateness is in the truth, not in rtbench's error):
//
//	/fixed?d=20ms                       answers after d
//	/bimodal?fast=5ms&slow=50ms&every=10 every 10th request slow, the others fast
//	/stall?base=2ms&period=2s&for=200ms  answers after base, and a request that
//	                                    arrives in the first `for` of each
//	                                    period waits until the stall ends
//	/v1/chat/completions?ttft=200ms&itl=20ms&n=20
//	                                    an OpenAI-style stream: the first
//	                                    content chunk after ttft, then one
//	                                    token every itl, usage, [DONE];
//	                                    truth routes ttft, tpot and e2e
//	/truth?route=fixed                  the truth: {"count", "p50_ms", "p90_ms", "p99_ms"}
//	/reset                              empties every truth histogram
//
// Loopback only; it exists for calibration, not as a mock server (rtbench
// serve is that).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: calib serve|compare|ref [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "compare":
		err = compare(os.Args[2:], os.Stdout)
	case "ref":
		err = ref(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q: want serve or compare", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "calib:", err)
		os.Exit(1)
	}
}

// truth holds the delays the server applied, per route, in µs.
type truth struct {
	mu sync.Mutex
	h  map[string]*hdrhistogram.Histogram
}

func (t *truth) record(route string, d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.h[route]
	if h == nil {
		h = hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3)
		t.h[route] = h
	}
	_ = h.RecordValue(d.Microseconds())
}

// Quantiles is what /truth answers and compare reads, in milliseconds.
type Quantiles struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
}

func (t *truth) quantiles(route string) Quantiles {
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.h[route]
	if h == nil {
		return Quantiles{}
	}
	ms := func(q float64) float64 { return float64(h.ValueAtQuantile(q)) / 1000 }
	return Quantiles{Count: h.TotalCount(), P50: ms(50), P90: ms(90), P99: ms(99)}
}

func dur(r *http.Request, name string, def time.Duration) time.Duration {
	if v := r.URL.Query().Get(name); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d >= 0 && d <= time.Hour {
			return d
		}
	}
	return def
}

func num(r *http.Request, name string, def int) int {
	if v := r.URL.Query().Get(name); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 && n <= 100000 {
			return n
		}
	}
	return def
}

// sleepCtx waits d or until the request ends. The truth is not d but the
// time the handler really took, measured around it: Go's timers wake up to a
// millisecond late (more on a VM), and that lateness is the server's, not
// rtbench's.
func sleepCtx(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:18097", "listen address (loopback)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-addr %s: calib listens on loopback only", *addr)
	}
	tr := &truth{h: make(map[string]*hdrhistogram.Histogram)}
	epoch := time.Now()
	var bimodal atomic.Int64
	mux := http.NewServeMux()
	answer := func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, `{"ok":true}`)
	}
	mux.HandleFunc("/fixed", func(w http.ResponseWriter, r *http.Request) {
		began := time.Now()
		d := dur(r, "d", 0)
		if sleepCtx(r, d) {
			tr.record("fixed", time.Since(began))
			answer(w)
		}
	})
	mux.HandleFunc("/bimodal", func(w http.ResponseWriter, r *http.Request) {
		began := time.Now()
		d := dur(r, "fast", 5*time.Millisecond)
		if bimodal.Add(1)%int64(num(r, "every", 10)) == 0 {
			d = dur(r, "slow", 50*time.Millisecond)
		}
		if sleepCtx(r, d) {
			tr.record("bimodal", time.Since(began))
			answer(w)
		}
	})
	mux.HandleFunc("/stall", func(w http.ResponseWriter, r *http.Request) {
		began := time.Now()
		base, period, stall := dur(r, "base", 2*time.Millisecond), dur(r, "period", 2*time.Second), dur(r, "for", 200*time.Millisecond)
		d := base
		if period > 0 {
			if in := time.Since(epoch) % period; in < stall {
				d += stall - in
			}
		}
		if sleepCtx(r, d) {
			tr.record("stall", time.Since(began))
			answer(w)
		}
	})
	mux.HandleFunc("/v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
		ttft, itl, n := dur(r, "ttft", 200*time.Millisecond), dur(r, "itl", 20*time.Millisecond), num(r, "n", 20)
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-store")
		rc := http.NewResponseController(w)
		w.WriteHeader(http.StatusOK)
		rc.Flush()
		chunk := func(s string) bool {
			if _, err := io.WriteString(w, "data: "+s+"\n\n"); err != nil {
				return false
			}
			return rc.Flush() == nil
		}
		start := time.Now()
		// Deadlines from the start, so a late wake-up does not push the
		// tokens after it. The truth is when each token was written.
		var first, last time.Time
		for i := 0; i < n; i++ {
			at := ttft + time.Duration(i)*itl
			if !sleepCtx(r, time.Until(start.Add(at))) {
				return
			}
			if !chunk(fmt.Sprintf(`{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"t%d "}}]}`, i)) {
				return
			}
			last = time.Now()
			if i == 0 {
				first = last
			}
		}
		chunk(fmt.Sprintf(`{"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":%d}}`, n))
		chunk("[DONE]")
		tr.record("ttft", first.Sub(start))
		if n > 1 {
			tr.record("tpot", last.Sub(first)/time.Duration(n-1))
		}
		tr.record("e2e", last.Sub(start))
	})
	mux.HandleFunc("/truth", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(tr.quantiles(r.URL.Query().Get("route")))
	})
	mux.HandleFunc("/reset", func(w http.ResponseWriter, r *http.Request) {
		tr.mu.Lock()
		clear(tr.h)
		tr.mu.Unlock()
		bimodal.Store(0)
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	fmt.Fprintf(os.Stderr, "calib: serving on http://%s\n", *addr)
	return srv.ListenAndServe()
}

// result is the part of an rtbench result compare reads.
type result struct {
	Schema    string               `json:"schema"`
	Saturated bool                 `json:"saturated"`
	Metrics   map[string]Quantiles `json:"metrics"`
	Counters  map[string]int64     `json:"counters"`
	SelfCheck *struct {
		P999 float64 `json:"p99_9_ms"`
		Max  float64 `json:"max_ms"`
	} `json:"self_check"`
}

func readResult(path string) (*result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// compare prints one table row per quantile: the truth, what rtbench
// measured, the error, the loopback cost at that quantile (the same
// quantile of the loopback run's metric, a run against d=0) and the error
// beyond it, which the targets apply to: ±1 % at p50, ±5 % at p99.
func compare(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	truthURL := fs.String("truth", "", "the calib server's /truth URL with ?route=")
	resultPath := fs.String("result", "", "rtbench's result file")
	metric := fs.String("metric", "request", "the result's metric to compare")
	loopPath := fs.String("loopback", "", "the result of a run against d=0, whose same metric is the loopback cost")
	loopMetric := fs.String("loopback-metric", "request", "the loopback run's metric")
	label := fs.String("label", "", "the case's name in the table")
	noTarget := fs.Bool("no-target", false, "print the row without errors or targets (the loopback row)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	resp, err := http.Get(*truthURL)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var truth Quantiles
	if err := json.NewDecoder(resp.Body).Decode(&truth); err != nil {
		return fmt.Errorf("truth: %w", err)
	}
	r, err := readResult(*resultPath)
	if err != nil {
		return err
	}
	got, ok := r.Metrics[*metric]
	if !ok {
		return fmt.Errorf("%s has no metric %s", *resultPath, *metric)
	}
	var loop Quantiles
	if *loopPath != "" {
		lr, err := readResult(*loopPath)
		if err != nil {
			return err
		}
		loop = lr.Metrics[*loopMetric]
	}
	for _, q := range []struct {
		name             string
		truth, got, loop float64
		target           float64
	}{
		{"p50", truth.P50, got.P50, loop.P50, 1},
		{"p90", truth.P90, got.P90, loop.P90, 0},
		{"p99", truth.P99, got.P99, loop.P99, 5},
	} {
		errPct, beyond, verdict := "–", "–", "–"
		if q.truth > 0 && !*noTarget {
			errPct = fmt.Sprintf("%+.2f %%", 100*(q.got-q.truth)/q.truth)
			b := 100 * (q.got - q.truth - q.loop) / q.truth
			beyond = fmt.Sprintf("%+.2f %%", b)
			if q.target > 0 {
				verdict = fmt.Sprintf("±%g %%: met", q.target)
				if b > q.target || b < -q.target {
					verdict = fmt.Sprintf("±%g %%: NOT met", q.target)
				}
			}
		}
		self := "–"
		if r.SelfCheck != nil {
			self = fmt.Sprintf("%.3f", r.SelfCheck.P999)
			if r.Saturated {
				self += " (saturated)"
			}
		}
		fmt.Fprintf(w, "| %s | %s | %d / %d | %.3f | %.3f | %s | %.3f | %s | %s | %s |\n",
			*label, q.name, got.Count, truth.Count, q.truth, q.got, errPct, q.loop, beyond, verdict, self)
	}
	return nil
}

// ref is the reference client the calibration measures beside rtbench in
// the same run: the least a Go program can do for the open model (net/http
// with a pool as large as the run needs, each request started at its
// intended time by time.Sleep, latency from that intended time to the end of
// the body). What it measures beyond the truth is the platform's own cost
// (timer wake-ups, the scheduler, loopback), which no Go client avoids.
func ref(args []string) error {
	fs := flag.NewFlagSet("ref", flag.ContinueOnError)
	url := fs.String("url", "", "the URL to request")
	rate := fs.Int("rate", 200, "requests per second")
	d := fs.Duration("d", 10*time.Second, "how long")
	out := fs.String("out", "", "where to write the result (the part of an rtbench result compare reads)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *url == "" || *out == "" || *rate <= 0 {
		return fmt.Errorf("ref needs -url, -out and a positive -rate")
	}
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 10000}, Timeout: time.Minute}
	h := hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3)
	var mu sync.Mutex
	var wg sync.WaitGroup
	n := int(d.Seconds() * float64(*rate))
	every := time.Second / time.Duration(*rate)
	start := time.Now()
	for i := 0; i < n; i++ {
		at := start.Add(time.Duration(i) * every)
		time.Sleep(time.Until(at))
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.Get(*url)
			if err != nil {
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			took := time.Since(at)
			mu.Lock()
			_ = h.RecordValue(took.Microseconds())
			mu.Unlock()
		}()
	}
	wg.Wait()
	ms := func(q float64) float64 { return float64(h.ValueAtQuantile(q)) / 1000 }
	b, err := json.Marshal(result{Schema: "calib.ref", Metrics: map[string]Quantiles{
		"request": {Count: h.TotalCount(), P50: ms(50), P90: ms(90), P99: ms(99)},
	}})
	if err != nil {
		return err
	}
	return os.WriteFile(*out, b, 0o644)
}
