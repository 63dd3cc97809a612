package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/bench/outfile"
	"github.com/rtbench/rtbench/report"
)

// ReportOptions are the parsed flags of `rtbench report`.
type ReportOptions struct {
	Files      []string
	JSON       bool
	HTML       string
	Out        string
	Thresholds []string
	// AllowSaturated lets thresholds pass on a saturated result.
	AllowSaturated bool
	// AllowPartial merges a run's results although agents are missing.
	AllowPartial bool

	thresholds bench.Thresholds
}

// NewCmdReport builds `rtbench report`. runF replaces the run step in tests.
func NewCmdReport(env *Env, runF func(context.Context, *ReportOptions) error) *cobra.Command {
	o := &ReportOptions{}
	c := &cobra.Command{
		Use:   "report RESULT.json [MORE.json ...]",
		Short: "Render saved results again, merging results from several machines exactly",
		Long: `Render results saved with 'rtbench load --out' as the text report, JSON or a
self-contained HTML page. Several files (one per load-generating machine, say) are merged
exactly: histograms are added value by value, so the merged p99 is the true p99 of every
sample, not an average of p99s. Thresholds can be checked again on the (merged) result.

Only results of one run are merged: the agents of 'rtbench load --agents N --run-id ID'
(or of load --procs). Each result carries the run's fingerprint (run id, agent index and
count, target, pattern, load shape, hashes of the headers and body, rtbench version); a
result of another run is refused with the difference named, and a run with agents
missing is refused unless --allow-partial. Each agent's start skew is printed on stderr.
Results written before rtbench fingerprinted runs merge only with each other, as before.`,
		Example: `  # The text report of a saved run
  rtbench report result.json

  # Three machines' results as one, saved and as an HTML page
  rtbench report a.json b.json c.json --out merged.json --html report.html

  # The results of a 4-agent run, collected from Kubernetes, merged and checked
  rtbench report agent-*.json --threshold 'delivery.p99<50ms'

  # Check a budget on a saved result (exit 1 when it fails)
  rtbench report result.json --threshold 'delivery.p99<50ms'`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			o.Files = args
			if err := checkOutFile("--out", o.Out, "merged.json"); err != nil {
				return err
			}
			if err := checkOutFile("--html", o.HTML, "report.html"); err != nil {
				return err
			}
			var err error
			if o.thresholds, err = bench.ParseThresholds(o.Thresholds); err != nil {
				return UsageError("%v", err)
			}
			if runF != nil {
				return runF(c.Context(), o)
			}
			return reportRun(env, o)
		},
	}
	f := c.Flags()
	f.BoolVar(&o.JSON, "json", false, "print the (merged) result as JSON")
	f.StringVar(&o.HTML, "html", "", "also write a self-contained HTML report to this file")
	f.StringVar(&o.Out, "out", "", "save the (merged) result to this file")
	f.StringArrayVar(&o.Thresholds, "threshold", nil, "check this threshold on the result, e.g. 'delivery.p99<200ms' (repeatable)")
	f.BoolVar(&o.AllowSaturated, "allow-saturated", false, "let thresholds pass although the result says rtbench was saturated")
	f.BoolVar(&o.AllowPartial, "allow-partial", false, "merge a run's results although some of its agents are missing (the report says PARTIAL)")
	return c
}

func reportRun(env *Env, o *ReportOptions) error {
	if err := distinctFiles(o.Files); err != nil {
		return err
	}
	results := make([]*bench.Result, 0, len(o.Files))
	for _, f := range o.Files {
		r, err := bench.ReadFile(f)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return UsageError("%s: no such file", f)
			}
			return UsageError("%s: %v", f, err)
		}
		results = append(results, r)
	}
	r := results[0]
	if len(results) > 1 {
		var err error
		if r, err = bench.Merge(results...); err != nil {
			return UsageError("merging %d results: %v", len(results), err)
		}
		if r.Run == nil {
			fmt.Fprintf(env.ErrOut, "rtbench: these %d results carry no run fingerprint (written by an older rtbench): merged without checking that they are one run\n", len(results))
		}
	}
	if err := checkComplete(env, r, o.AllowPartial); err != nil {
		return err
	}
	// The document holds the outcomes of the thresholds checked here.
	outcomes, failed := o.thresholds.Check(r, o.AllowSaturated)
	r.Thresholds = bench.ThresholdResults(outcomes)
	if o.Out != "" {
		if err := bench.WriteFile(o.Out, r); err != nil {
			return fmt.Errorf("saving --out %s: %w", o.Out, err)
		}
	}
	if o.HTML != "" {
		if err := writeHTML(o.HTML, r, outcomes); err != nil {
			return err
		}
	}
	var err error
	if o.JSON {
		err = report.LoadJSON(env.Out, r, outcomes)
	} else {
		err = report.LoadText(env.Out, r, outcomes, report.TextOptions{Color: !env.NoColor(), Width: env.Width})
	}
	if err != nil {
		return err
	}
	if failed > 0 {
		return FailedError(fmt.Errorf("%d of %d thresholds failed", failed, len(outcomes)))
	}
	return nil
}

// writeHTML writes the HTML report (bench/outfile: never destroying what
// is at the path).
func writeHTML(path string, r *bench.Result, outcomes []bench.Outcome) error {
	if err := outfile.Write(path, func(w io.Writer) error { return report.LoadHTML(w, r, outcomes) }); err != nil {
		return fmt.Errorf("writing --html %s: %w", path, err)
	}
	return nil
}

// distinctFiles refuses a file given twice (by any path or link): merging a
// result with itself would count every sample twice.
func distinctFiles(files []string) error {
	seen := make([]os.FileInfo, len(files))
	for i, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			continue // reading it says what is wrong
		}
		for j := range i {
			if seen[j] != nil && os.SameFile(seen[j], st) {
				return UsageError("%s and %s are the same file: merging a result with itself would count every sample twice", files[j], f)
			}
		}
		seen[i] = st
	}
	return nil
}

// checkComplete refuses a run with agents missing, unless allowPartial:
// then it says so loudly, on stderr and in the result's reason. It prints
// each agent's start skew.
func checkComplete(env *Env, r *bench.Result, allowPartial bool) error {
	if r.Run == nil || r.Run.Agents <= 1 {
		return nil
	}
	report.AgentSkews(env.ErrOut, r.Run)
	miss := r.Run.Missing()
	if len(miss) == 0 {
		return nil
	}
	ids := fmt.Sprint(miss)
	if !allowPartial {
		return UsageError("run %s has %d agents, agents %s are missing: give every agent's result, or --allow-partial to report the others", r.Run.ID, r.Run.Agents, ids)
	}
	note := fmt.Sprintf("PARTIAL: agents %s of %d missing", ids, r.Run.Agents)
	fmt.Fprintf(env.ErrOut, "rtbench: %s; the report holds %d of the run's agents\n", note, len(r.Run.Parts))
	if r.Reason != "" {
		note = r.Reason + "; " + note
	}
	r.Reason = note
	return nil
}
