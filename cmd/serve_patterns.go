package cmd

import (
	"github.com/spf13/pflag"

	"github.com/rtbench/rtbench/transport/aistream"
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
	f.Uint64Var(&t.Seed, "seed", aistream.DefaultSeed, "AI routes: seed of the generated text and jitter")
	f.StringVar(&t.Model, "model", aistream.DefaultModel, "AI routes: model name when a request names none")

	j := &o.Mock.Jobs
	f.DurationVar(&j.Queued, "job-queued", poll.DefaultQueued, "jobs API: how long a new job stays queued")
	f.DurationVar(&j.Duration, "job-duration", poll.DefaultDuration, "jobs API: how long a job then runs")
	f.IntVar(&j.Steps, "job-steps", poll.DefaultSteps, "jobs API: progress steps while running")
}

func (o *ServeOptions) validatePatterns() error {
	t := o.Mock.Tokens
	if t.TPS <= 0 {
		return UsageError("--tps %v: want tokens per second above 0", t.TPS)
	}
	if t.PerChunk < 1 {
		return UsageError("--chunk-tokens %d: want 1 or more", t.PerChunk)
	}
	if t.Length < 1 {
		return UsageError("--tokens %d: want 1 or more", t.Length)
	}
	if t.TTFT < 0 {
		return UsageError("--ttft %v: want 0 or more", t.TTFT)
	}
	if err := t.Validate(); err != nil {
		return UsageError("AI stream flags: %v", err)
	}
	j := o.Mock.Jobs
	switch {
	case j.Queued < 0 || j.Queued > poll.MaxQueued:
		return UsageError("--job-queued %v: want 0 to %v", j.Queued, poll.MaxQueued)
	case j.Duration < 0 || j.Duration > poll.MaxDuration:
		return UsageError("--job-duration %v: want 0 to %v", j.Duration, poll.MaxDuration)
	case j.Steps < 1 || j.Steps > poll.MaxSteps:
		return UsageError("--job-steps %d: want 1 to %d", j.Steps, poll.MaxSteps)
	}
	return nil
}
