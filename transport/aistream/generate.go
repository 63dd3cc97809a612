package aistream

import (
	"context"
	"time"
)

// generation is one request's answer: the resolved Tokens, how many tokens it
// has, whether max_tokens cut it short, and the prompt size.
type generation struct {
	tok    Tokens // with defaults applied
	r      int    // reasoning tokens, before the answer: tok.Reasoning
	n      int    // answer tokens: min(max_tokens, Length)
	cut    bool   // max_tokens < Length: finish "length" / stop_reason "max_tokens"
	prompt int    // prompt tokens: words in the messages
	start  time.Time
}

// newGeneration resolves a request's answer: tok (defaults applied, overrides
// applied) capped by maxTokens (0 when the request sets none).
func newGeneration(tok Tokens, maxTokens int64, prompt int, start time.Time) (*generation, *requestError) {
	g := &generation{tok: tok, r: tok.Reasoning, n: tok.Length, prompt: prompt, start: start}
	if maxTokens > 0 && maxTokens < int64(tok.Length) {
		g.n, g.cut = int(maxTokens), true
	}
	if tok.Generation(g.r+g.n) > MaxGeneration {
		return nil, badRequest("", "%s", generationError(tok, g.r+g.n))
	}
	return g, nil
}

// noReasoning drops the reasoning phase, for a route that has no way to
// send it (the Next.js tutorial's {"text"}).
func (g *generation) noReasoning() { g.r = 0 }

// reasoningStream separates the reasoning text's random stream from the
// answer's, so an answer reads the same with or without reasoning.
const reasoningStream = 0xbb67ae8584caa73b

// stream sends the reasoning chunks (to reason), then the answer's (to
// answer), on schedule: token i of either phase, counted from the first
// reasoning token, is due at Tokens.Due(i); a chunk holds PerChunk tokens of
// one phase and goes out when its last token is due. It returns ctx's error
// as soon as ctx ends, or an emit's first error. The emits must not keep
// the slice.
func (g *generation) stream(ctx context.Context, reason, answer func(text []byte) error) error {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var due time.Duration
	buf := make([]byte, 0, 16*g.tok.PerChunk)
	phases := [...]struct {
		count, offset int
		gen           *generator
		emit          func([]byte) error
	}{
		{g.r, 0, newGenerator(g.tok.WithDefaults().Seed ^ reasoningStream), reason},
		{g.n, g.r, newGenerator(g.tok.Seed), answer},
	}
	for _, ph := range phases {
		p := g.tok.PerChunk
		for first := 0; first < ph.count; first += p {
			last := min(first+p, ph.count) - 1
			due = max(due, g.tok.Due(ph.offset+last))
			if err := sleepUntil(ctx, timer, g.start.Add(due)); err != nil {
				return err
			}
			buf = buf[:0]
			for range last - first + 1 {
				buf = ph.gen.next(buf)
			}
			if err := ph.emit(buf); err != nil {
				return err
			}
		}
	}
	return nil
}

// end is when the last chunk of either phase is due, from the request's
// arrival: what a non-streamed answer waits.
func (g *generation) end() time.Duration {
	if g.r == 0 {
		return g.tok.Generation(g.n)
	}
	var due time.Duration
	p := g.tok.PerChunk
	for _, ph := range [...][2]int{{g.r, 0}, {g.n, g.r}} {
		for first := 0; first < ph[0]; first += p {
			due = max(due, g.tok.Due(ph[1]+min(first+p, ph[0])-1))
			if g.tok.Jitter <= 0 {
				due = max(due, g.tok.Due(ph[1]+ph[0]-1))
				break
			}
		}
	}
	return due
}

// reasoningText is the whole reasoning text.
func (g *generation) reasoningText() string { return g.tok.ReasoningText(g.r) }

// ReasoningText returns the first n reasoning tokens, concatenated: what a
// route streams as reasoning before the answer (Reasoning tokens).
func (t Tokens) ReasoningText(n int) string {
	t.Seed = t.WithDefaults().Seed ^ reasoningStream
	return t.Text(n)
}

// wait blocks until the whole answer would have been generated, or ctx ends.
func (g *generation) wait(ctx context.Context) error {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	return sleepUntil(ctx, timer, g.start.Add(g.end()))
}

// text is the whole answer.
func (g *generation) text() string { return g.tok.Text(g.n) }

// sleepUntil waits on timer until at, or until ctx ends. A time already past
// returns at once (unless ctx has ended).
func sleepUntil(ctx context.Context, timer *time.Timer, at time.Time) error {
	d := time.Until(at)
	if d <= 0 {
		return ctx.Err()
	}
	timer.Reset(d)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
