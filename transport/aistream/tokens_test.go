package aistream

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestWithDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   Tokens
		want Tokens
	}{
		{"zero", Tokens{}, Tokens{TTFT: 200 * time.Millisecond, TPS: 50, PerChunk: 1, Length: 64, Seed: 1, Model: "rtbench-mock-1"}},
		{"set", Tokens{TTFT: time.Second, TPS: 7, Jitter: 3, PerChunk: 4, Length: 9, Seed: 5, Model: "m"},
			Tokens{TTFT: time.Second, TPS: 7, Jitter: 3, PerChunk: 4, Length: 9, Seed: 5, Model: "m"}},
		{"no ttft", Tokens{TTFT: -1}, Tokens{TTFT: -1, TPS: 50, PerChunk: 1, Length: 64, Seed: 1, Model: "rtbench-mock-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.WithDefaults(); got != tt.want {
				t.Errorf("WithDefaults() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		in   Tokens
		want string // substring of the error; "" means valid
	}{
		{"zero", Tokens{}, ""},
		{"typical", Tokens{TTFT: 300 * time.Millisecond, TPS: 80, Jitter: 5 * time.Millisecond, PerChunk: 3, Length: 500}, ""},
		{"no ttft", Tokens{TTFT: -1}, ""},
		{"ttft", Tokens{TTFT: 6 * time.Minute}, `ttft: want a duration from 0s to 5m, such as 200ms; got "6m0s"`},
		{"tps negative", Tokens{TPS: -1}, `tps: want tokens per second, a number from 0.001 to 1e+06; got "-1"`},
		{"tps nan", Tokens{TPS: math.NaN()}, `tps: want tokens per second, a number from 0.001 to 1e+06; got "NaN"`},
		{"tps huge", Tokens{TPS: 2e6}, `tps: want tokens per second, a number from 0.001 to 1e+06; got "2e+06"`},
		{"jitter", Tokens{Jitter: -time.Millisecond}, `jitter: want a duration from 0s to 1m, such as 20ms; got "-1ms"`},
		{"chunk", Tokens{PerChunk: 1001}, "tokens per chunk 1001 is out of range"},
		{"length", Tokens{Length: MaxTokens + 1}, "length 100001 is out of range"},
		{"model", Tokens{Model: strings.Repeat("m", 257)}, "model name is 257 bytes"},
		{"too slow", Tokens{TPS: 0.01, Length: 100}, "generating 100 tokens at 0.01 tokens/s would take 2h45m0s, over the limit of 1h0m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.in.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestDue(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		tok  Tokens
		i    int
		want time.Duration
	}{
		{"defaults first", Tokens{}, 0, 200 * ms},
		{"defaults second", Tokens{}, 1, 220 * ms},
		{"defaults tenth", Tokens{}, 10, 400 * ms},
		{"no ttft", Tokens{TTFT: -1, TPS: 10}, 5, 500 * ms},
		{"fractional tps", Tokens{TTFT: 100 * ms, TPS: 2.5}, 3, 1300 * ms},
		{"fast", Tokens{TTFT: ms, TPS: 1000}, 999, 1000 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.tok.Due(tt.i); got != tt.want {
				t.Errorf("Due(%d) = %v, want %v", tt.i, got, tt.want)
			}
		})
	}
}

func TestDueJitter(t *testing.T) {
	tok := Tokens{TTFT: 100 * time.Millisecond, TPS: 10, Jitter: 30 * time.Millisecond, Seed: 7}
	plain := tok
	plain.Jitter = 0
	distinct := map[time.Duration]bool{}
	for i := range 200 {
		j := tok.Due(i) - plain.Due(i)
		if j < 0 || j >= tok.Jitter {
			t.Fatalf("jitter of token %d = %v, want [0, %v)", i, j, tok.Jitter)
		}
		if same := (Tokens{TTFT: 100 * time.Millisecond, TPS: 10, Jitter: 30 * time.Millisecond, Seed: 7}); same.Due(i) != tok.Due(i) {
			t.Fatalf("Due(%d) not deterministic", i)
		}
		distinct[j] = true
	}
	if len(distinct) < 150 {
		t.Errorf("only %d distinct jitters in 200 tokens: not spread", len(distinct))
	}
	other := tok
	other.Seed = 8
	if other.Due(3) == tok.Due(3) && other.Due(4) == tok.Due(4) {
		t.Error("jitter does not depend on the seed")
	}
}

func TestChunkDue(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name   string
		tok    Tokens
		n      int
		chunks int
		want   []time.Duration // ChunkDue(c, n) for each chunk
	}{
		{"one per chunk", Tokens{TTFT: 50 * ms, TPS: 10}, 3, 3, []time.Duration{50 * ms, 150 * ms, 250 * ms}},
		{"three per chunk, ragged", Tokens{TTFT: 50 * ms, TPS: 10, PerChunk: 3}, 7, 3, []time.Duration{250 * ms, 550 * ms, 650 * ms}},
		{"chunk larger than answer", Tokens{TTFT: -1, TPS: 100, PerChunk: 10}, 4, 1, []time.Duration{30 * ms}},
		{"empty", Tokens{}, 0, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.tok.Chunks(tt.n); got != tt.chunks {
				t.Fatalf("Chunks(%d) = %d, want %d", tt.n, got, tt.chunks)
			}
			var got []time.Duration
			for c := range tt.chunks {
				got = append(got, tt.tok.ChunkDue(c, tt.n))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ChunkDue = %v, want %v", got, tt.want)
			}
			var last time.Duration
			if len(tt.want) > 0 {
				last = tt.want[len(tt.want)-1]
			}
			if g := tt.tok.Generation(tt.n); g != last {
				t.Errorf("Generation(%d) = %v, want %v", tt.n, g, last)
			}
		})
	}
}

func TestChunkDueJitterInOrder(t *testing.T) {
	// Jitter larger than the token interval: chunks still go out in order,
	// each at the latest due time so far.
	tok := Tokens{TTFT: 10 * time.Millisecond, TPS: 100, Jitter: 50 * time.Millisecond, PerChunk: 2, Seed: 3}
	const n = 40
	var prev, max0 time.Duration
	for c := range tok.Chunks(n) {
		due := tok.ChunkDue(c, n)
		max0 = max(max0, tok.Due(min(2*c+2, n)-1))
		if due != max0 || due < prev {
			t.Fatalf("ChunkDue(%d) = %v, want %v (running max), previous %v", c, due, max0, prev)
		}
		prev = due
	}
}

func TestText(t *testing.T) {
	for _, seed := range []uint64{1, 2, 42, math.MaxUint64} {
		tok := Tokens{Seed: seed}
		full := tok.Text(300)
		pieces := tok.Pieces(300)
		if strings.Join(pieces, "") != full {
			t.Fatalf("seed %d: Pieces do not concatenate to Text", seed)
		}
		for n := range 300 {
			if !strings.HasPrefix(full, tok.Text(n)) {
				t.Fatalf("seed %d: Text(%d) is not a prefix of Text(300)", seed, n)
			}
		}
		sentenceStart, punct := true, false
		for i, p := range pieces {
			switch {
			case p == "," || p == "." || p == "?":
				if i == 0 || sentenceStart || punct {
					t.Fatalf("seed %d: piece %d %q: punctuation at a sentence start or after punctuation", seed, i, p)
				}
				sentenceStart, punct = p != ",", true
				continue
			case i == 0 && p[0] == ' ', i > 0 && p[0] != ' ':
				t.Fatalf("seed %d: piece %d %q: wrong leading space", seed, i, p)
			}
			word := strings.TrimPrefix(p, " ")
			if capital := word[0] >= 'A' && word[0] <= 'Z'; capital != sentenceStart {
				t.Fatalf("seed %d: piece %d %q: capital = %v at sentence start = %v", seed, i, p, capital, sentenceStart)
			}
			if !slices.Contains(vocab[:], strings.ToLower(word)) {
				t.Fatalf("seed %d: piece %d %q is not in the vocabulary", seed, i, p)
			}
			sentenceStart, punct = false, false
		}
	}
	if (Tokens{Seed: 1}).Text(64) != (Tokens{}).Text(64) {
		t.Error("seed 0 and seed 1 differ; 0 should mean the default 1")
	}
	if (Tokens{Seed: 2}).Text(64) == (Tokens{}).Text(64) {
		t.Error("seeds 1 and 2 give the same text")
	}
	if got := (Tokens{}).Text(0); got != "" {
		t.Errorf("Text(0) = %q, want empty", got)
	}
}

func TestGeneratorNoAlloc(t *testing.T) {
	g := newGenerator(1)
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(1000, func() { buf = g.next(buf[:0]) }); n != 0 {
		t.Errorf("generator.next allocates %v times per token, want 0", n)
	}
}

func ExampleTokens_Text() {
	tok := Tokens{Seed: 42}
	fmt.Println(tok.Text(12))
	fmt.Println(tok.Due(0), tok.Due(11), tok.ChunkDue(0, 12))
	// Output:
	// Sometimes no to point stop soon model, than way. Together
	// 200ms 420ms 200ms
}

// TestGenerationNeverOverflows: a TPS far below the floor (as Tokens{} built
// in code may hold) gives a generation time past MaxGeneration, not a
// negative one from a float-to-int overflow that slips past the cap.
func TestGenerationNeverOverflows(t *testing.T) {
	for _, tps := range []float64{1e-9, 1e-300} {
		tok := Tokens{TPS: tps, Length: 100}
		if g := tok.Generation(100); g <= MaxGeneration {
			t.Errorf("TPS %g: Generation(100) = %v, want past %v", tps, g, MaxGeneration)
		}
		if err := tok.Validate(); err == nil {
			t.Errorf("TPS %g: Validate accepted it", tps)
		}
	}
}
