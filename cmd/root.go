// Package cmd is rtbench's command line: cobra commands that parse and
// validate flags into options structs, wire them to the transport, bench and
// report packages, and map errors to exit codes in one place. No command
// measures or renders anything itself.
package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/rtbench/rtbench/report"
)

// BuildInfo is stamped into the binary by the release build (-ldflags -X).
type BuildInfo struct {
	Version, Commit, Date string
}

// Main runs rtbench with args (without the program name) and returns the
// process exit code.
func Main(build BuildInfo, args []string) int {
	env := SystemEnv()
	log.SetOutput(quietLog{os.Stderr})
	ctx, stop := signalContext(env)
	defer stop()
	return Run(ctx, env, build, args)
}

// Run executes the command line in env and returns the exit code; errors are
// printed on env.ErrOut as one line.
func Run(ctx context.Context, env *Env, build BuildInfo, args []string) int {
	build = build.withModuleInfo(debug.ReadBuildInfo)
	env.Version = versionString(build)
	root := NewRootCmd(env, build)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	var ee *ExitError
	if err != nil && !errors.Is(err, errInterrupted) && !(errors.As(err, &ee) && ee.Reported) {
		fmt.Fprintf(env.ErrOut, "rtbench: %s\n", report.ErrorLine(err.Error()))
	}
	return exitCode(err)
}

// quietLog is the standard logger's output: net/http logs through it what
// is already an error rtbench reports in its own line (a server that answers
// before the request was written: "Unsolicited response received on idle
// HTTP channel"), which would make one error two lines on stderr. Such lines
// are dropped; any other line is written, made safe for a terminal.
type quietLog struct{ w io.Writer }

func (q quietLog) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("Unsolicited response received on idle HTTP channel")) {
		return len(p), nil
	}
	if _, err := io.WriteString(q.w, report.Visible(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// signalContext is cancelled by the first SIGINT or SIGTERM, so commands can
// stop, print and save what they measured; a second signal exits at once.
func signalContext(env *Env) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	// done ends the watcher when the command returns; ctx cannot, since the
	// first signal cancels it and the watcher must still see the second.
	done := make(chan struct{})
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case <-sigs:
		case <-done:
			return
		}
		cancel()
		select {
		case <-sigs:
			fmt.Fprintln(env.ErrOut, "rtbench: second signal, exiting now")
			os.Exit(ExitInterrupted)
		case <-done:
		}
	}()
	return ctx, sync.OnceFunc(func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	})
}

// NewRootCmd builds the command tree.
func NewRootCmd(env *Env, build BuildInfo) *cobra.Command {
	root := &cobra.Command{
		Use:   "rtbench",
		Short: "Test and load real-time endpoints: SSE, AI token streams, polling and WebSockets",
		Long: `rtbench tests and load-generates real-time endpoints: Server-Sent Events, AI token
streams (OpenAI and Anthropic style), polling (plain, ETag, long-poll) and WebSockets.

Exit codes: 0 ok, 1 a check or threshold failed, 2 usage or configuration error,
3 target unreachable, 130 interrupted.`,
		Example: `  # Start mock endpoints of all four patterns on 127.0.0.1:8080
  rtbench serve

  # Watch an event stream
  curl -N http://127.0.0.1:8080/sse`,
		// Runnable, so that cobra validates the arguments (an unknown command
		// is a usage error) instead of printing help for anything.
		RunE:          func(c *cobra.Command, _ []string) error { return c.Help() },
		Version:       versionString(build),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// An unknown command names the commands it is close to (cobra's
	// Levenshtein suggestions, and prefixes: "lis" → listen).
	root.SuggestionsMinimumDistance = 2
	root.Args = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
		if s := c.SuggestionsFor(args[0]); len(s) > 0 {
			msg += fmt.Sprintf("; did you mean %q?", s[0])
		}
		return errors.New(msg)
	}
	root.SetVersionTemplate("rtbench {{.Version}}\n")
	root.SetIn(env.In)
	root.SetOut(env.Out)
	root.SetErr(env.ErrOut)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return UsageError("%v (see '%s --help')", err, c.CommandPath())
	})
	root.AddCommand(NewCmdServe(env, nil), NewCmdListen(env, nil), NewCmdLoad(env, nil), NewCmdReport(env, nil), NewCmdCompare(env, nil))
	root.AddCommand(NewCmdDiff(env, nil))
	root.AddCommand(NewCmdCheck(env, nil))
	root.AddCommand(NewCmdVersion(env, build, nil), newCmdGendocs(env, build))
	root.SetHelpCommand(newHelpCmd())
	// Cobra adds `completion` only when it executes; added here, its
	// argument errors are usage errors like every other command's, and a
	// shell it does not know is not answered with its help and exit 0.
	root.InitDefaultCompletionCmd()
	if c, _, err := root.Find([]string{"completion"}); err == nil && c != root {
		c.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
	}
	// Argument errors from cobra (unknown command, wrong arg count) are usage
	// errors too.
	wrapAllArgs(root)
	return root
}

func wrapAllArgs(c *cobra.Command) {
	wrapArgs(c)
	for _, sub := range c.Commands() {
		wrapAllArgs(sub)
	}
}

// newHelpCmd replaces cobra's help command, which answers an unknown topic
// with the usage and exit 0: here that is a usage error like any other.
func newHelpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		ValidArgsFunction: func(c *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			var out []cobra.Completion
			for _, sub := range c.Root().Commands() {
				if sub.IsAvailableCommand() {
					out = append(out, cobra.CompletionWithDesc(sub.Name(), sub.Short))
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			target, rest, err := c.Root().Find(args)
			if err != nil || len(rest) > 0 {
				return UsageError("unknown help topic %q (see 'rtbench --help')", strings.Join(args, " "))
			}
			return target.Help()
		},
	}
}

func wrapArgs(c *cobra.Command) {
	if c.Args == nil {
		return
	}
	args := c.Args
	c.Args = func(cmd *cobra.Command, a []string) error {
		if err := args(cmd, a); err != nil {
			return UsageError("%v (see '%s --help')", err, cmd.CommandPath())
		}
		return nil
	}
}

func versionString(b BuildInfo) string {
	v := b.Version
	if v == "" {
		v = "dev"
	}
	if b.Commit != "" {
		v += " (commit " + b.Commit
		if b.Date != "" {
			v += ", built " + b.Date
		}
		v += ")"
	}
	return v
}
