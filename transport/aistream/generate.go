package aistream

import (
	"context"
	"time"
)

// generation is one request's answer: the resolved Tokens, how many tokens it
// has, whether max_tokens cut it short, and the prompt size.
type generation struct {
	tok    Tokens // with defaults applied
	n      int    // output tokens: min(max_tokens, Length)
	cut    bool   // max_tokens < Length: finish "length" / stop_reason "max_tokens"
	prompt int    // prompt tokens: words in the messages
	start  time.Time
}

// newGeneration resolves a request's answer: tok (defaults applied, overrides
// applied) capped by maxTokens (0 when the request sets none).
func newGeneration(tok Tokens, maxTokens int64, prompt int, start time.Time) (*generation, *requestError) {
	g := &generation{tok: tok, n: tok.Length, prompt: prompt, start: start}
	if maxTokens > 0 && maxTokens < int64(tok.Length) {
		g.n, g.cut = int(maxTokens), true
	}
	if tok.Generation(g.n) > MaxGeneration {
		return nil, badRequest("", "%s", generationError(tok, g.n))
	}
	return g, nil
}

// run sends the answer's chunks on schedule: it waits for each chunk's
// ChunkDue (one timer, reset per chunk), then calls emit with the chunk's text.
// It returns ctx's error as soon as ctx ends, or emit's first error. emit must
// not keep the slice.
func (g *generation) run(ctx context.Context, emit func(text []byte) error) error {
	p := g.tok.PerChunk
	gen := newGenerator(g.tok.Seed)
	buf := make([]byte, 0, 16*p)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var due time.Duration
	for first := 0; first < g.n; first += p {
		last := min(first+p, g.n) - 1
		due = max(due, g.tok.Due(last))
		if err := sleepUntil(ctx, timer, g.start.Add(due)); err != nil {
			return err
		}
		buf = buf[:0]
		for range last - first + 1 {
			buf = gen.next(buf)
		}
		if err := emit(buf); err != nil {
			return err
		}
	}
	return nil
}

// wait blocks until the whole answer would have been generated, or ctx ends.
func (g *generation) wait(ctx context.Context) error {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	return sleepUntil(ctx, timer, g.start.Add(g.tok.Generation(g.n)))
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
