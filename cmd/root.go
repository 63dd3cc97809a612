// Package cmd is rtbench's command line: cobra commands that parse and
// validate flags into options structs, wire them to the transport, bench and
// report packages, and map errors to exit codes in one place. No command
// measures or renders anything itself.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// BuildInfo is stamped into the binary by the release build (-ldflags -X).
type BuildInfo struct {
	Version, Commit, Date string
}

// Main runs rtbench with args (without the program name) and returns the
// process exit code.
func Main(build BuildInfo, args []string) int {
	env := SystemEnv()
	ctx, stop := signalContext(env)
	defer stop()
	return Run(ctx, env, build, args)
}

// Run executes the command line in env and returns the exit code; errors are
// printed on env.ErrOut as one line.
func Run(ctx context.Context, env *Env, build BuildInfo, args []string) int {
	env.Version = versionString(build)
	root := NewRootCmd(env, build)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil && !errors.Is(err, errInterrupted) {
		fmt.Fprintf(env.ErrOut, "rtbench: %s\n", oneLine(err.Error()))
	}
	return exitCode(err)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// signalContext is cancelled by the first SIGINT or SIGTERM, so commands can
// stop, print and save what they measured; a second signal exits at once.
func signalContext(env *Env) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case <-sigs:
		case <-ctx.Done():
			return
		}
		cancel()
		select {
		case <-sigs:
			fmt.Fprintln(env.ErrOut, "rtbench: second signal, exiting now")
			os.Exit(ExitInterrupted)
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		cancel()
	}
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
	root.Args = cobra.NoArgs
	root.SetVersionTemplate("rtbench {{.Version}}\n")
	root.SetIn(env.In)
	root.SetOut(env.Out)
	root.SetErr(env.ErrOut)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return UsageError("%v (see '%s --help')", err, c.CommandPath())
	})
	root.AddCommand(NewCmdServe(env, nil), NewCmdListen(env, nil), NewCmdLoad(env, nil), NewCmdReport(env, nil), NewCmdCompare(env, nil))
	// Argument errors from cobra (unknown command, wrong arg count) are usage
	// errors too.
	for _, c := range append(root.Commands(), root) {
		wrapArgs(c)
	}
	return root
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
