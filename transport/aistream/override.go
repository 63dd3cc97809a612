package aistream

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/rtbench/rtbench/transport/bounds"
)

// Request headers that override the server's Tokens for one request. Each
// has a query parameter of the lower-case short name (?ttft=50ms&tps=100);
// when both are present the header wins.
const (
	HeaderTTFT   = "X-RTBench-TTFT"   // ?ttft=   duration ("250ms", or a bare number of ms), 0..5m
	HeaderTPS    = "X-RTBench-TPS"    // ?tps=    tokens per second, [0.001, 1e6]
	HeaderJitter = "X-RTBench-Jitter" // ?jitter= duration, 0..1m
	HeaderChunk  = "X-RTBench-Chunk"  // ?chunk=  tokens per chunk, 1..1000
	HeaderTokens = "X-RTBench-Tokens" // ?tokens= output length, 1..100000 (max_tokens still caps it)
	HeaderSeed   = "X-RTBench-Seed"   // ?seed=   unsigned 64-bit integer
	// HeaderReasoning: ?reasoning= reasoning tokens before the answer, 0..100000
	HeaderReasoning = "X-RTBench-Reasoning"
)

// override is one per-request knob: where it is read from and how its value
// is applied. apply returns "" or what the value should have been.
type override struct {
	header, query string
	apply         func(t *Tokens, v string) (want string)
}

// The bounds of the timing overrides, shared with Tokens.Validate and the
// serve flags (which use them under their own names, bounds.Rate.As).
var (
	TTFTBounds   = bounds.Upto("ttft", MaxTTFT, "200ms")
	TPSBounds    = bounds.Rate{Name: "tps", Unit: "tokens", Max: MaxTPS}
	JitterBounds = bounds.Upto("jitter", MaxJitter, "20ms")
)

var overrides = [...]override{
	{HeaderTTFT, "ttft", func(t *Tokens, v string) string {
		d, ok := parseDuration(v, MaxTTFT)
		if !ok || TTFTBounds.Check(d) != nil {
			return TTFTBounds.Want() + " (or a bare number of ms)"
		}
		if d == 0 {
			d = noTTFT
		}
		t.TTFT = d
		return ""
	}},
	{HeaderTPS, "tps", func(t *Tokens, v string) string {
		f, err := TPSBounds.Parse(v)
		if err != nil {
			return TPSBounds.Want() + ", such as 50"
		}
		t.TPS = f
		return ""
	}},
	{HeaderJitter, "jitter", func(t *Tokens, v string) string {
		d, ok := parseDuration(v, MaxJitter)
		if !ok || JitterBounds.Check(d) != nil {
			return JitterBounds.Want() + " (or a bare number of ms)"
		}
		t.Jitter = d
		return ""
	}},
	{HeaderChunk, "chunk", func(t *Tokens, v string) string {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPerChunk {
			return fmt.Sprintf("tokens per chunk, an integer from 1 to %d", MaxPerChunk)
		}
		t.PerChunk = n
		return ""
	}},
	{HeaderTokens, "tokens", func(t *Tokens, v string) string {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxTokens {
			return fmt.Sprintf("output tokens, an integer from 1 to %d", MaxTokens)
		}
		t.Length = n
		return ""
	}},
	{HeaderReasoning, "reasoning", func(t *Tokens, v string) string {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > MaxTokens {
			return fmt.Sprintf("reasoning tokens, an integer from 0 to %d", MaxTokens)
		}
		t.Reasoning = n
		return ""
	}},
	{HeaderSeed, "seed", func(t *Tokens, v string) string {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return "an unsigned 64-bit integer, e.g. 42"
		}
		t.Seed = n
		return ""
	}},
}

// parseDuration reads a Go duration ("250ms", "1.5s") or a bare number of
// milliseconds ("250"), and checks it is in [0, limit].
func parseDuration(v string, limit time.Duration) (time.Duration, bool) {
	d, err := time.ParseDuration(v)
	if err != nil {
		ms, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(ms) || ms < 0 || ms > float64(limit/time.Millisecond) {
			return 0, false
		}
		d = time.Duration(ms * float64(time.Millisecond))
	}
	return d, d >= 0 && d <= limit
}

// applyOverrides applies the request's query parameters, then its headers, to
// t (which already has its defaults). The error names the header or parameter,
// quotes the value and says what to send instead.
func applyOverrides(t Tokens, r *http.Request) (Tokens, *requestError) {
	if r.URL.RawQuery != "" {
		q := r.URL.Query()
		for _, o := range overrides {
			if v, ok := q[o.query]; ok && len(v) > 0 {
				if want := o.apply(&t, v[len(v)-1]); want != "" {
					return t, badOverride(o.query, "query parameter", v[len(v)-1], want)
				}
			}
		}
	}
	for _, o := range overrides {
		if v := r.Header.Get(o.header); v != "" {
			if want := o.apply(&t, v); want != "" {
				return t, badOverride(o.header, "header", v, want)
			}
		}
	}
	return t, nil
}

func badOverride(name, kind, value, want string) *requestError {
	if len(value) > 64 {
		value = value[:64] + "..."
	}
	return &requestError{
		status: http.StatusBadRequest,
		param:  name,
		msg:    fmt.Sprintf("invalid %s %s: %q; send %s", kind, name, value, want),
	}
}
