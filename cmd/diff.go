package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/report"
)

// DiffOptions are the parsed flags of `rtbench diff`.
type DiffOptions struct {
	Base, New string
	JSON      bool
	FailIf    []string

	conditions []*bench.Regression
}

// NewCmdDiff builds `rtbench diff`. runF replaces the run step in tests.
func NewCmdDiff(env *Env, runF func(context.Context, *DiffOptions) error) *cobra.Command {
	o := &DiffOptions{}
	c := &cobra.Command{
		Use:   "diff BASE.json NEW.json",
		Short: "Compare two runs metric by metric, and fail CI on a regression",
		Long: `Compare two saved results (rtbench load --out, or merged with rtbench report --out),
usually the same test before and after a change: p50, p99 and max of every latency
metric, each counter's rate per measured second, and the error rate (errors as a
percentage of attempts), side by side with the change.

` + bench.RegressionHelp + `

Exit codes: 0 no --fail-if condition held, 1 a --fail-if condition held (a regression,
or a metric missing from one run), 2 usage (a file that is not a result, a bad
condition).`,
		Example: `  # What changed between last night's run and this one
  rtbench diff nightly.json new.json

  # Fail CI when delivery p99 grew by more than 10 % or errors by half a point
  rtbench diff base.json new.json --fail-if 'delivery.p99>+10%' --fail-if 'errors>+0.5'`,
		Args: cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			o.Base, o.New = args[0], args[1]
			for _, s := range o.FailIf {
				r, err := bench.ParseRegression(s)
				if err != nil {
					return UsageError("%v", err)
				}
				o.conditions = append(o.conditions, r)
			}
			if runF != nil {
				return runF(c.Context(), o)
			}
			return diffRun(env, o)
		},
	}
	f := c.Flags()
	f.BoolVar(&o.JSON, "json", false, "print the comparison as JSON (schema rtbench.diff/v1)")
	f.StringArrayVar(&o.FailIf, "fail-if", nil, "exit 1 when this change holds, e.g. 'delivery.p99>+10%' (repeatable)")
	return c
}

func diffRun(env *Env, o *DiffOptions) error {
	read := func(f string) (*bench.Result, error) {
		r, err := bench.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) {
			return nil, UsageError("%s: no such file", f)
		}
		if err != nil {
			return nil, UsageError("%s: %v", f, err)
		}
		return r, nil
	}
	base, err := read(o.Base)
	if err != nil {
		return err
	}
	next, err := read(o.New)
	if err != nil {
		return err
	}
	doc := report.DiffDoc{Base: report.NewDiffSide(o.Base, base), New: report.NewDiffSide(o.New, next), Rows: bench.Diff(base, next)}
	regressed := 0
	for _, c := range o.conditions {
		bad, change := c.Check(base, next)
		if bad {
			regressed++
		}
		doc.Checks = append(doc.Checks, report.DiffCheck{Condition: c.String(), Change: change, Regressed: bad})
	}
	if o.JSON {
		err = report.DiffJSON(env.Out, doc)
	} else {
		err = report.DiffText(env.Out, doc, report.TextOptions{Color: !env.NoColor(), Width: env.Width})
	}
	if err != nil {
		return err
	}
	if regressed > 0 {
		return FailedError(fmt.Errorf("%d of %d --fail-if conditions held: a regression", regressed, len(o.conditions)))
	}
	return nil
}
