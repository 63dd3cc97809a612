package cmd

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/rtbench/rtbench/transport/aistream"
	"github.com/rtbench/rtbench/transport/bounds"
	"github.com/rtbench/rtbench/transport/poll"
)

// addPatternFlags adds the flags that shape the job and token-stream routes.
func addPatternFlags(f *pflag.FlagSet, o *ServeOptions) {
	t := &o.Mock.Tokens
	f.DurationVar(&t.TTFT, "ttft", aistream.DefaultTTFT, "AI routes: time to first token")
	f.Float64Var(&t.TPS, "tps", aistream.DefaultTPS, "AI routes: tokens per second after the first")
	f.DurationVar(&t.Jitter, "token-jitter", 0, "AI routes: extra random delay per token, up to this")
	f.IntVar(&t.PerChunk, "chunk-tokens", aistream.DefaultPerChunk, "AI routes: tokens per streamed chunk")
	f.IntVar(&t.Length, "tokens", aistream.DefaultLength, "AI routes: output tokens when a request sets no max_tokens")
	f.IntVar(&t.Reasoning, "reasoning-tokens", 0, "AI routes: reasoning (thinking) tokens streamed before the answer, on the same schedule")
	f.Uint64Var(&t.Seed, "seed", aistream.DefaultSeed, "AI routes: seed of the generated text and jitter")
	f.StringVar(&t.Model, "model", aistream.DefaultModel, "AI routes: model name when a request names none")

	j := &o.Mock.Jobs
	f.DurationVar(&j.Queued, "job-queued", poll.DefaultQueued, "jobs API: how long a new job stays queued")
	f.DurationVar(&j.Duration, "job-duration", poll.DefaultDuration, "jobs API: how long a job then runs")
	f.IntVar(&j.Steps, "job-steps", poll.DefaultSteps, "jobs API: progress steps while running")
	f.DurationVar(&j.Jitter, "job-jitter", 0, "jobs API: add to each job's running time a random extra up to this, so jobs do not end in step with a client's polls")
}

func (o *ServeOptions) validatePatterns() error {
	t := o.Mock.Tokens
	if err := aistream.TPSBounds.As("--tps").Check(t.TPS); err != nil {
		return UsageError("%v", err)
	}
	if err := aistream.TTFTBounds.As("--ttft").Check(t.TTFT); err != nil {
		return UsageError("%v", err)
	}
	if err := aistream.JitterBounds.As("--token-jitter").Check(t.Jitter); err != nil {
		return UsageError("%v", err)
	}
	if t.PerChunk < 1 {
		return UsageError("--chunk-tokens %d: want 1 or more", t.PerChunk)
	}
	if t.Length < 1 {
		return UsageError("--tokens %d: want 1 or more", t.Length)
	}
	if t.Reasoning < 0 || t.Reasoning > aistream.MaxTokens {
		return UsageError("--reasoning-tokens %d: want 0 to %d", t.Reasoning, aistream.MaxTokens)
	}
	if err := t.Validate(); err != nil {
		return UsageError("AI stream flags: %v", err)
	}
	j := o.Mock.Jobs
	for _, d := range []struct {
		b bounds.Duration
		v time.Duration
	}{
		{bounds.Upto("--job-queued", poll.MaxQueued, "500ms"), j.Queued},
		{bounds.Upto("--job-duration", poll.MaxDuration, "2s"), j.Duration},
		{bounds.Upto("--job-jitter", poll.MaxDuration, "2s"), j.Jitter},
	} {
		if err := d.b.Check(d.v); err != nil {
			return UsageError("%v", err)
		}
	}
	if j.Steps < 1 || j.Steps > poll.MaxSteps {
		return UsageError("--job-steps %d: want 1 to %d", j.Steps, poll.MaxSteps)
	}
	return nil
}
