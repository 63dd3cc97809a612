package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/bench"
)

// compareFixture is a fixed comparison: five patterns with delivery
// latencies of their kind, and an AI section.
func compareFixture(t *testing.T) *bench.CompareResult {
	t.Helper()
	start := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	result := func(pattern string, seed uint64, median time.Duration, extra func(*bench.Recording)) *bench.Result {
		rec := bench.NewRecording()
		rec.Start, rec.MeasureFrom, rec.End = start, start, start.Add(7*time.Second)
		for _, d := range spread(seed, 1000, median, 2) {
			rec.Hists[bench.Delivery].Record(d)
		}
		rec.Counters[bench.Events] = 1000
		if extra != nil {
			extra(rec)
		}
		r, err := bench.NewResult(rec, bench.Meta{Version: "test", URL: "http://127.0.0.1:1/" + pattern, Pattern: pattern, Host: "host",
			Params: bench.Params{Connections: 20, DurationS: 5}})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	pat := func(name, pattern string, seed uint64, median time.Duration, bytesPer, reqPer, cpu float64, conns int64) *bench.PatternResult {
		return &bench.PatternResult{Name: name, Channel: "compare-" + name, Subscribers: 20, Connected: 20, Published: 50,
			Expected: 1000, Delivered: 1000, BytesRead: int64(bytesPer * 900), BytesWritten: int64(bytesPer * 100),
			Requests: int64(reqPer * 1000), ConnectionsPeak: conns, ConnectionsDialed: conns, CPUMs: cpu, CPUMeasured: true,
			BytesPerUpdate: bytesPer, RequestsPerUpdate: reqPer, CPUUsPerUpdate: cpu,
			Series: []bench.SecondResult{{TS: 0, Count: 500, MeanMs: float64(median) / 1e6, MaxMs: 2 * float64(median) / 1e6},
				{TS: 1, Count: 500, MeanMs: float64(median) / 1e6 * 1.1, MaxMs: 3 * float64(median) / 1e6}},
			Result: result(pattern, seed, median, nil)}
	}
	c := bench.Compare{Subscribers: 20, Updates: 10, Duration: 5 * time.Second, Version: "test"}
	r := c.NewCompareResult("http://127.0.0.1:1", true)
	r.StartedAt, r.EndedAt = start, start.Add(time.Minute)
	r.Patterns = []*bench.PatternResult{
		pat("sse", "sse", 1, 400*time.Microsecond, 296, 0.02, 0.5, 20),
		pat("ws", "ws", 2, 350*time.Microsecond, 284, 0.02, 0.45, 20),
		pat("poll 1s", "poll", 3, 500*time.Millisecond, 460, 0.5, 1.8, 20),
		pat("etag 1s", "poll", 4, 500*time.Millisecond, 436, 0.5, 1.7, 20),
		pat("long-poll", "long-poll", 5, 4*time.Millisecond, 664, 1.1, 2.2, 20),
	}
	r.Patterns[2].Lost, r.Patterns[2].Delivered = 3, 997
	ai := result("ai-sse", 6, 20*time.Millisecond, func(rec *bench.Recording) {
		for _, d := range spread(7, 20, 200*time.Millisecond, 1.2) {
			rec.Hists[bench.TTFT].Record(d)
		}
		for _, d := range spread(8, 1260, 20*time.Millisecond, 1.2) {
			rec.Hists[bench.ITLChunk].Record(d)
			rec.Hists[bench.TPOT].Record(d)
		}
		rec.Counters[bench.Tokens] = 1280
	})
	r.AI = &bench.AIResult{Streams: 20, Tokens: 64, Completed: 20, TokensPerS: 182.9, StreamTokensPerS: 50,
		BytesRead: 360000, BytesWritten: 6000, CPUMs: 300, CPUMeasured: true, Result: ai}
	for i, f := range []struct {
		format         string
		bytes, events  float64
		ttftMultiplier float64
	}{{"openai", 347, 1.2, 1}, {"ai-sdk-data", 48, 1.15, 1.01}, {"ollama", 177, 1.05, 1.02}} {
		res := result("ai-sse", 6, 20*time.Millisecond, func(rec *bench.Recording) {
			for _, d := range spread(uint64(10+i), 20, time.Duration(float64(200*time.Millisecond)*f.ttftMultiplier), 1.1) {
				rec.Hists[bench.TTFT].Record(d)
			}
			for _, d := range spread(uint64(20+i), 1260, 20*time.Millisecond, 1.1) {
				rec.Hists[bench.ITLChunk].Record(d)
			}
			rec.Counters[bench.Tokens] = 1280
		})
		r.AIFormats = append(r.AIFormats, &bench.AIResult{Format: f.format, Streams: 20, Tokens: 64, Completed: 20,
			BytesPerToken: f.bytes, WireEventsPerToken: f.events, Result: res})
	}
	chat := func(name, pattern, sends string, seed uint64, median time.Duration, up, down, reqUp, reqDown, cpu float64, conns, lost int64) *bench.ChatResult {
		d := 1000 - lost
		return &bench.ChatResult{Name: name, Sends: sends, Members: 20, RatePerS: 0.5, Connected: 20, Sent: 50, Expected: 1000,
			Delivered: d, Lost: lost, BytesUp: int64(up * float64(d)), BytesDown: int64(down * float64(d)),
			RequestsUp: int64(reqUp * float64(d)), RequestsDown: int64(reqDown * float64(d)), ConnectionsPeak: conns, ConnectionsDialed: conns,
			CPUMs: cpu * float64(d) / 1000, CPUMeasured: true, BytesUpPerMsg: up, BytesDownPerMsg: down, RequestsUpPerMsg: reqUp,
			RequestsDownPerMsg: reqDown, CPUUsPerMsg: cpu, Result: result(pattern, seed, median, nil)}
	}
	r.Chat = []*bench.ChatResult{
		chat("ws room", "ws", "on its socket", 31, 380*time.Microsecond, 14, 290, 0, 0.02, 9, 20, 0),
		chat("sse + POST", "sse", "POST /api/publish", 32, 450*time.Microsecond, 30, 300, 0.05, 0.02, 14, 40, 0),
		chat("long-poll + POST", "long-poll", "POST /api/publish", 33, 5*time.Millisecond, 60, 700, 0.05, 1.1, 20, 40, 0),
		chat("ably", "ably", "on its socket", 34, 420*time.Microsecond, 20, 420, 0, 0.02, 11, 20, 0),
		chat("pusher (REST send)", "pusher", "Pusher HTTP API (POST /apps/ID/events; data {seq, sched_ns}, not --size): rtbench's Pusher client cannot send client events yet",
			35, 300*time.Microsecond, 35, 250, 0.05, 0.02, 15, 40, 2),
	}
	job := func(name, method string, interval time.Duration, mean, p50, p99, mx time.Duration, reqPer, bytesPer float64) *bench.JobResult {
		ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
		return &bench.JobResult{Name: name, Method: method, IntervalMs: ms(interval), RatePerS: 20, Created: 100, SeenDone: 100,
			StalenessMeasured: true, StalenessMeanMs: ms(mean), StalenessP50Ms: ms(p50), StalenessP99Ms: ms(p99), StalenessMaxMs: ms(mx),
			StatusRequests: int64(reqPer * 100), StatusBytes: int64(bytesPer * 100), RequestsPerJob: reqPer, BytesPerJob: bytesPer,
			ConnectionsPeak: 40, Result: result("flow", 40, mean, nil)}
	}
	r.Jobs = []*bench.JobResult{
		job("poll 1s", "poll", time.Second, 502*time.Millisecond, 498*time.Millisecond, 990*time.Millisecond, 1010*time.Millisecond, 3.5, 1650),
		job("poll 2s", "poll", 2*time.Second, 1010*time.Millisecond, time.Second, 1980*time.Millisecond, 2*time.Second, 2.5, 1180),
		job("etag 1s", "etag", time.Second, 505*time.Millisecond, 500*time.Millisecond, 991*time.Millisecond, 1005*time.Millisecond, 3.5, 1100),
		job("long-poll", "long-poll", 0, 1200*time.Microsecond, 900*time.Microsecond, 4*time.Millisecond, 6*time.Millisecond, 5, 2300),
		job("sse", "sse", 0, 800*time.Microsecond, 600*time.Microsecond, 3*time.Millisecond, 5*time.Millisecond, 1, 1400),
	}
	r.JobShape = "embedded rtbench serve: each job runs 1s + a uniform random part of 2s in 4 progress steps, so it completes at any phase of the polls"
	return r
}

func TestCompareText(t *testing.T) {
	for _, width := range []int{100, 80, 60} {
		t.Run(strings.Repeat("w", 1)+itoa(width), func(t *testing.T) {
			var b bytes.Buffer
			if err := CompareText(&b, compareFixture(t), TextOptions{Width: width}); err != nil {
				t.Fatal(err)
			}
			for i, l := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
				if textWidth(l) > width {
					t.Errorf("line %d is %d cells wide, over %d: %q", i+1, textWidth(l), width, l)
				}
			}
			if strings.Contains(b.String(), "\x1b[") {
				t.Error("escape sequences without colour")
			}
			golden(t, "compare/text-"+itoa(width)+".out", b.Bytes())
		})
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestCompareJSON(t *testing.T) {
	var b bytes.Buffer
	if err := CompareJSON(&b, compareFixture(t)); err != nil {
		t.Fatal(err)
	}
	golden(t, "compare/result.json", b.Bytes())
	var back bench.CompareResult
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Schema != bench.CompareSchema || len(back.Patterns) != 5 || back.Patterns[0].Result.Schema != bench.SchemaV2 {
		t.Errorf("round trip: schema %q, %d patterns", back.Schema, len(back.Patterns))
	}
	// Each pattern's result is a valid rtbench.result/v1, readable by the tool.
	rb, _ := json.Marshal(back.Patterns[2].Result)
	if _, err := bench.Decode(bytes.NewReader(rb)); err != nil {
		t.Errorf("pattern result does not decode as %s: %v", bench.SchemaV2, err)
	}
}

// TestCompareGuide: each need names the pattern that measured best on its
// figure, by how much against the runner-up, and SSE's own figure; no line
// names another pattern as the best.
func TestCompareGuide(t *testing.T) {
	r := compareFixture(t)
	want := []struct{ need, pick, text string }{
		{"live notifications", "ws", "delivery p99 1.57ms, 1.1× lower than sse (1.65ms)"},
		{"job status", "sse", "completion seen 800µs after it happened on average (p99 3.00ms), for 1 request and 1.4 kB per job; 1.5× sooner than long-poll (1.20ms, 5 requests and 2.3 kB per job); fewest bytes: etag 1s (1.1 kB per job, staleness 505ms)"},
		{"chat", "ws room", "send → receive p99 1.64ms, 1.1× lower than ably (1.82ms); sse + POST 1.95ms; 14 B up and 290 B down, 20 connections, per delivered message; sends on its socket; not picked: pusher (REST send), which lost 2 messages"},
		{"AI responses", "sse", "first token after"},
	}
	g := CompareGuide(r)
	if len(g) != len(want) {
		t.Fatalf("%d guide lines, want %d: %+v", len(g), len(want), g)
	}
	for i, w := range want {
		if g[i].Need != w.need || g[i].Pick != w.pick || !strings.HasPrefix(g[i].Text, w.text) {
			t.Errorf("line %d: %+v, want %s → %s: %q", i, g[i], w.need, w.pick, w.text)
		}
	}

	// Another run, without the chat and job workloads: long-poll delivers fastest
	// and polling moves the fewest bytes; SSE is neither best nor
	// runner-up, and its figure is shown; chat falls back to ws and sse.
	r.Chat, r.Jobs = nil, nil
	for _, p := range r.Patterns {
		switch p.Name {
		case "long-poll":
			m := p.Result.Metrics["delivery"]
			m.P99Ms = 0.5
			p.Result.Metrics["delivery"] = m
		case "ws":
			m := p.Result.Metrics["delivery"]
			m.P99Ms = 0.6
			p.Result.Metrics["delivery"] = m
		case "poll 1s":
			p.BytesPerUpdate = 100
		case "etag 1s":
			p.BytesPerUpdate = 150
		}
	}
	g = CompareGuide(r)
	for i, w := range []struct{ pick, text string }{
		{"long-poll", "delivery p99 500µs, 1.2× lower than ws (600µs); sse 1.65ms"},
		{"poll 1s", "bytes per update 100 B, 1.5× lower than etag 1s (150 B); sse 296 B"},
		{"ws", "delivery p99 600µs, 2.8× lower than sse (1.65ms)"},
	} {
		if g[i].Pick != w.pick || !strings.HasPrefix(g[i].Text, w.text) {
			t.Errorf("line %d: %+v, want %s: %q", i, g[i], w.pick, w.text)
		}
	}
}

func TestCompareHTML(t *testing.T) {
	var b bytes.Buffer
	if err := CompareHTML(&b, compareFixture(t)); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{`<section id="table">`, `<section id="jobs">`, `<td class="mono">long-poll</td><td class="num">1.20ms</td>`, `<section id="histograms">`, `<section id="over-time">`, `<section id="guide">`, `<polyline class="line s0"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if n := strings.Count(page, `<svg class="hist"`); n != 5 {
		t.Errorf("%d histograms, want 5", n)
	}
	for _, bad := range []string{"<script", "http://", "https://"} {
		if bad == "http://" {
			// The target URL is shown, as text.
			page = strings.ReplaceAll(page, "http://127.0.0.1:1", "")
		}
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q: not self-contained", bad)
		}
	}
}
