package aistream

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestApplyOverrides(t *testing.T) {
	base := Tokens{}.WithDefaults()
	with := func(f func(*Tokens)) Tokens { t := base; f(&t); return t }
	ms := time.Millisecond
	tests := []struct {
		name    string
		query   string
		headers map[string]string
		want    Tokens
	}{
		{"none", "", nil, base},
		{"query all", "?ttft=50ms&tps=12.5&jitter=3ms&chunk=4&tokens=9&seed=77", nil,
			with(func(t *Tokens) { t.TTFT, t.TPS, t.Jitter, t.PerChunk, t.Length, t.Seed = 50*ms, 12.5, 3*ms, 4, 9, 77 })},
		{"headers all", "", map[string]string{HeaderTTFT: "1s", HeaderTPS: "100", HeaderJitter: "7", HeaderChunk: "2", HeaderTokens: "100000", HeaderSeed: "18446744073709551615"},
			with(func(t *Tokens) {
				t.TTFT, t.TPS, t.Jitter, t.PerChunk, t.Length, t.Seed = time.Second, 100, 7*ms, 2, 100000, 1<<64-1
			})},
		{"bare number is ms", "?ttft=250", nil, with(func(t *Tokens) { t.TTFT = 250 * ms })},
		{"ttft zero means none", "?ttft=0", nil, with(func(t *Tokens) { t.TTFT = noTTFT })},
		{"header beats query", "?tps=10&seed=5", map[string]string{HeaderTPS: "20"}, with(func(t *Tokens) { t.TPS, t.Seed = 20, 5 })},
		{"last query value wins", "?chunk=2&chunk=3", nil, with(func(t *Tokens) { t.PerChunk = 3 })},
		{"other parameters ignored", "?foo=bar&api-version=1", nil, base},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions"+tt.query, nil)
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			got, err := applyOverrides(base, r)
			if err != nil {
				t.Fatalf("applyOverrides: %v", err.msg)
			}
			if got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestApplyOverridesErrors(t *testing.T) {
	tests := []struct {
		name      string
		query     string
		header    [2]string
		wantParam string
		wantMsg   string
	}{
		{"ttft words", "?ttft=soon", [2]string{}, "ttft",
			`invalid query parameter ttft: "soon"; send a duration from 0s to 5m, such as 200ms (or a bare number of ms)`},
		{"ttft negative", "?ttft=-5ms", [2]string{}, "ttft",
			`invalid query parameter ttft: "-5ms"; send a duration from 0s to 5m, such as 200ms (or a bare number of ms)`},
		{"ttft too long", "", [2]string{HeaderTTFT, "6m"}, HeaderTTFT,
			`invalid header X-RTBench-TTFT: "6m"; send a duration from 0s to 5m, such as 200ms (or a bare number of ms)`},
		{"tps zero", "", [2]string{HeaderTPS, "0"}, HeaderTPS,
			`invalid header X-RTBench-TPS: "0"; send tokens per second, a number from 0.001 to 1e+06, such as 50`},
		{"tps nan", "?tps=NaN", [2]string{}, "tps",
			`invalid query parameter tps: "NaN"; send tokens per second, a number from 0.001 to 1e+06, such as 50`},
		{"tps inf", "?tps=Inf", [2]string{}, "tps",
			`invalid query parameter tps: "Inf"; send tokens per second, a number from 0.001 to 1e+06, such as 50`},
		{"jitter", "?jitter=2m", [2]string{}, "jitter",
			`invalid query parameter jitter: "2m"; send a duration from 0s to 1m, such as 20ms (or a bare number of ms)`},
		{"chunk zero", "?chunk=0", [2]string{}, "chunk",
			`invalid query parameter chunk: "0"; send tokens per chunk, an integer from 1 to 1000`},
		{"tokens too many", "", [2]string{HeaderTokens, "100001"}, HeaderTokens,
			`invalid header X-RTBench-Tokens: "100001"; send output tokens, an integer from 1 to 100000`},
		{"seed negative", "?seed=-1", [2]string{}, "seed",
			`invalid query parameter seed: "-1"; send an unsigned 64-bit integer, e.g. 42`},
		{"empty query value", "?tokens=", [2]string{}, "tokens",
			`invalid query parameter tokens: ""; send output tokens, an integer from 1 to 100000`},
		{"long value quoted short", "", [2]string{HeaderSeed, "1234567890123456789012345678901234567890123456789012345678901234567890"}, HeaderSeed,
			`invalid header X-RTBench-Seed: "1234567890123456789012345678901234567890123456789012345678901234..."; send an unsigned 64-bit integer, e.g. 42`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/api/chat"+tt.query, nil)
			if tt.header[0] != "" {
				r.Header.Set(tt.header[0], tt.header[1])
			}
			_, err := applyOverrides(Tokens{}.WithDefaults(), r)
			if err == nil {
				t.Fatal("applyOverrides accepted a bad value")
			}
			if err.status != http.StatusBadRequest || err.param != tt.wantParam || err.msg != tt.wantMsg {
				t.Errorf("got %d %q %q\nwant 400 %q %q", err.status, err.param, err.msg, tt.wantParam, tt.wantMsg)
			}
		})
	}
}

func FuzzApplyOverrides(f *testing.F) {
	for _, v := range []string{"", "0", "50ms", "1e6", "NaN", "-1", "1.5", "18446744073709551616", "9223372036854775807ms"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, o := range overrides {
			tok := Tokens{}.WithDefaults()
			if want := o.apply(&tok, v); want != "" {
				continue
			}
			if err := tok.Validate(); err != nil && tok.Generation(tok.Length) <= MaxGeneration {
				t.Fatalf("%s=%q accepted but gives invalid Tokens: %v", o.query, v, err)
			}
		}
	})
}
