package aistream

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rtbench/rtbench/transport/bounds"
)

// Defaults for Tokens.
const (
	DefaultTTFT     = 200 * time.Millisecond
	DefaultTPS      = 50.0
	DefaultPerChunk = 1
	DefaultLength   = 64
	DefaultSeed     = 1
	DefaultModel    = "rtbench-mock-1"
)

// Bounds on what a flag, a request header or a query parameter may ask for.
const (
	MaxTokens      = 100_000         // output tokens of one response (Length, max_tokens)
	MaxTTFT        = 5 * time.Minute // time to first token
	MaxJitter      = time.Minute     // per-token jitter
	MaxTPS         = 1_000_000.0     // tokens per second
	MaxPerChunk    = 1000            // tokens per chunk
	MaxGeneration  = time.Hour       // time from the request to the last token
	MaxModelLength = 256             // bytes of a model name
	MaxBody        = 1 << 20         // bytes of a request body
)

// noTTFT is what an explicit TTFT of 0 (a ttft=0 override) is stored as,
// since a zero TTFT means the default.
const noTTFT = -time.Nanosecond

// Tokens describes the text the mock generates and its timing. The zero value
// of every field means its default, so Tokens{} is a 64-token answer at 50
// tokens per second after 200ms. The mock server sets it from flags; a request
// may override each field (see HeaderTTFT and the other Header constants).
//
// Token i (from 0) is due Due(i) after the request arrived:
//
//	TTFT + i/TPS + jitter(i),   jitter(i) in [0, Jitter), fixed by Seed and i
//
// and the tokens go out in chunks of PerChunk: chunk c carries tokens
// c*PerChunk up to the last token it holds, and is sent when that last token is
// due (or at once after the previous chunk, if jitter made it due earlier):
// see ChunkDue.
type Tokens struct {
	TTFT     time.Duration // time to first token; default 200ms, negative means none
	TPS      float64       // tokens per second after the first; default 50
	Jitter   time.Duration // extra delay per token, uniform in [0, Jitter); default 0
	PerChunk int           // tokens per chunk (per SSE event); default 1
	Length   int           // output tokens; a request's max_tokens can only lower it; default 64
	// Reasoning is how many reasoning (thinking) tokens come before the
	// answer, on the same schedule: token i of Due is reasoning while
	// i < Reasoning, so the answer's first token is due at Due(Reasoning).
	// Routes with a reasoning shape send them as such (see doc.go); the
	// Next.js tutorial route has none and ignores it. Default 0.
	Reasoning int
	Seed      uint64 // picks the text and the jitter; default (and 0) means 1
	Model     string // model name when the request names none; default "rtbench-mock-1"
}

// WithDefaults returns t with every zero field set to its default. Every
// method applies it, so calling it is only needed to read the values.
func (t Tokens) WithDefaults() Tokens {
	if t.TTFT == 0 {
		t.TTFT = DefaultTTFT
	}
	if t.TPS == 0 {
		t.TPS = DefaultTPS
	}
	if t.PerChunk == 0 {
		t.PerChunk = DefaultPerChunk
	}
	if t.Length == 0 {
		t.Length = DefaultLength
	}
	if t.Seed == 0 {
		t.Seed = DefaultSeed
	}
	if t.Model == "" {
		t.Model = DefaultModel
	}
	return t
}

// Validate reports the first field out of its bounds, naming the field, the
// value and the accepted range. Zero fields are valid (they mean defaults).
func (t Tokens) Validate() error {
	switch {
	case t.TTFT != noTTFT && TTFTBounds.Check(t.TTFT) != nil:
		return TTFTBounds.Check(t.TTFT)
	case t.TPS != 0 && TPSBounds.Check(t.TPS) != nil:
		return TPSBounds.Check(t.TPS)
	case JitterBounds.Check(t.Jitter) != nil:
		return JitterBounds.Check(t.Jitter)
	case t.PerChunk < 0 || t.PerChunk > MaxPerChunk:
		return fmt.Errorf("tokens per chunk %d is out of range: want [1, %d]", t.PerChunk, MaxPerChunk)
	case t.Length < 0 || t.Length > MaxTokens:
		return fmt.Errorf("length %d is out of range: want [1, %d] tokens", t.Length, MaxTokens)
	case t.Reasoning < 0 || t.Reasoning > MaxTokens:
		return fmt.Errorf("reasoning tokens %d are out of range: want [0, %d]", t.Reasoning, MaxTokens)
	case len(t.Model) > MaxModelLength:
		return fmt.Errorf("model name is %d bytes: the limit is %d", len(t.Model), MaxModelLength)
	}
	if n := t.WithDefaults().Length + t.Reasoning; t.Generation(n) > MaxGeneration {
		return errors.New(generationError(t, n))
	}
	return nil
}

func generationError(t Tokens, n int) string {
	t = t.WithDefaults()
	return fmt.Sprintf("generating %d tokens at %g tokens/s would take %v, over the limit of %v: ask for fewer tokens or a higher tps",
		n, t.TPS, t.Generation(n).Round(time.Second), MaxGeneration)
}

// Due returns when token i (from 0) is due, counted from the request's
// arrival: TTFT + i/TPS + jitter(i).
func (t Tokens) Due(i int) time.Duration {
	t = t.WithDefaults()
	// Saturating arithmetic: a tiny TPS must give a huge Due, which the
	// MaxGeneration check refuses, never an overflow to a negative one.
	return bounds.Add(max(t.TTFT, 0), bounds.Span(float64(i), t.TPS), t.jitter(i))
}

// Chunks returns how many chunks carry n output tokens.
func (t Tokens) Chunks(n int) int {
	p := t.WithDefaults().PerChunk
	return (max(n, 0) + p - 1) / p
}

// ChunkDue returns when chunk c (from 0) of an n-token answer is sent, counted
// from the request's arrival: the latest Due of the last token of chunks 0..c
// (chunks go out in order). It costs O(1) without jitter, O(c) with it.
func (t Tokens) ChunkDue(c, n int) time.Duration {
	t = t.WithDefaults()
	last := func(c int) int { return min((c+1)*t.PerChunk, n) - 1 }
	if t.Jitter <= 0 {
		return t.Due(last(c))
	}
	var due time.Duration
	for k := 0; k <= c; k++ {
		due = max(due, t.Due(last(k)))
	}
	return due
}

// Generation returns when the last chunk of an n-token answer is sent,
// counted from the request's arrival: the time a non-streamed answer takes.
func (t Tokens) Generation(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	return t.ChunkDue(t.Chunks(n)-1, n)
}

// jitter is a deterministic pseudo-random delay in [0, Jitter) for token i.
func (t Tokens) jitter(i int) time.Duration {
	if t.Jitter <= 0 {
		return 0
	}
	return time.Duration(splitmix(t.Seed^jitterStream, uint64(i)) % uint64(t.Jitter))
}

// Text returns the first n output tokens, concatenated: the whole answer to a
// request for n tokens. Text(n) is a prefix of Text(m) for n < m.
func (t Tokens) Text(n int) string {
	g := newGenerator(t.WithDefaults().Seed)
	var b []byte
	for range max(n, 0) {
		b = g.next(b)
	}
	return string(b)
}

// Pieces returns the first n output tokens one by one, so chunk c of an
// answer is the concatenation of Pieces(n)[c*PerChunk : (c+1)*PerChunk].
func (t Tokens) Pieces(n int) []string {
	g := newGenerator(t.WithDefaults().Seed)
	out := make([]string, 0, max(n, 0))
	var b []byte
	for range max(n, 0) {
		b = g.next(b[:0])
		out = append(out, string(b))
	}
	return out
}

// jitterStream separates the jitter's random stream from the text's.
const jitterStream = 0x6a09e667f3bcc909

// splitmix returns value i of the splitmix64 sequence seeded by seed: cheap,
// well mixed, and the same on every run.
func splitmix(seed, i uint64) uint64 {
	z := seed + (i+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// generator produces the token sequence for a seed. Tokens are words with a
// leading space (" word"), or punctuation; a sentence starts with a capital,
// and the first token has no leading space, so the concatenation reads as
// (meaningless) prose. Each token depends only on the seed, its index and the
// state the previous tokens left, so any prefix of the sequence is the same
// whatever the length asked for.
type generator struct {
	seed  uint64
	i     uint64
	words int  // words since the sentence began
	comma bool // the previous token was a comma
}

func newGenerator(seed uint64) *generator { return &generator{seed: seed} }

// next appends the next token to dst. It does not allocate when dst has room.
func (g *generator) next(dst []byte) []byte {
	h := splitmix(g.seed, g.i)
	g.i++
	r := h % 100
	switch {
	case !g.comma && g.words >= 4 && (r < 8 || g.words >= 16):
		g.words, g.comma = 0, false
		if (h>>20)%10 == 0 {
			return append(dst, '?')
		}
		return append(dst, '.')
	case g.words >= 3 && !g.comma && r < 16:
		g.comma = true
		return append(dst, ',')
	}
	if g.i > 1 {
		dst = append(dst, ' ')
	}
	at := len(dst)
	dst = append(dst, vocab[(h>>32)%uint64(len(vocab))]...)
	if g.words == 0 {
		dst[at] -= 'a' - 'A'
	}
	g.words++
	g.comma = false
	return dst
}

// countWords returns the number of whitespace-separated words in s: the
// mock's prompt-token count.
func countWords(s string) int { return len(strings.Fields(s)) }
