package cmd

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/rtbench/rtbench/report"
)

// Exit codes, the same for every command (README "Exit codes").
const (
	ExitOK          = 0   // success
	ExitFailed      = 1   // a check or threshold failed, a diff --fail-if held, or the run failed
	ExitUsage       = 2   // bad flags, arguments or configuration
	ExitUnreachable = 3   // the target could not be reached (refused, DNS, TLS)
	ExitInterrupted = 130 // stopped by SIGINT or SIGTERM
)

// ExitError carries an exit code with the error a person reads.
type ExitError struct {
	Code int
	Err  error
	// Reported: the command printed the error already (listen's session
	// error, on its own line as it happened): Run prints it no more.
	Reported bool
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// UsageError marks err as bad input: exit code 2.
func UsageError(format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
}

// UnreachableError marks err as a target that could not be reached: exit 3.
func UnreachableError(err error) error { return &ExitError{Code: ExitUnreachable, Err: err} }

// FailedError marks err as a failed check or threshold: exit 1.
func FailedError(err error) error { return &ExitError{Code: ExitFailed, Err: err} }

// failedRun is the rule every command that runs sessions (listen, load)
// applies once it stopped on its own terms: a run that delivered nothing
// while its connections failed is a failed run (exit 1), whatever made it
// stop; a quiet run with no error is not. errs counts failures by class,
// examples holds one message per class.
func failedRun(events int64, errs map[string]int64, examples map[string]string) error {
	if events > 0 || len(errs) == 0 {
		return nil
	}
	var parts []string
	for _, c := range slices.Sorted(maps.Keys(errs)) {
		parts = append(parts, fmt.Sprintf("%s ×%d (%s)", c, errs[c], report.ErrorLine(examples[c])))
	}
	return FailedError(fmt.Errorf("nothing was delivered and every attempt failed: %s", strings.Join(parts, "; ")))
}

// errInterrupted is returned by a command stopped by a signal, after it has
// printed and saved what it measured.
var errInterrupted = &ExitError{Code: ExitInterrupted, Err: errors.New("interrupted")}

// exitCode is the one place that maps an error to the process exit code.
func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	if errors.Is(err, context.Canceled) {
		return ExitInterrupted
	}
	return ExitFailed
}
