package cmd

import (
	"bytes"
	"io"
	"os"
	"strconv"

	"github.com/charmbracelet/x/term"
)

// Env is the outside world a command talks to: its streams, whether they are
// terminals, the terminal width and the environment. Tests build one with
// buffers (see TestEnv) instead of touching the process.
type Env struct {
	In     io.Reader
	Out    io.Writer // results: stdout
	ErrOut io.Writer // progress, warnings, errors: stderr

	InTTY, OutTTY, ErrTTY bool
	Width                 int // of the terminal on Out; 80 when unknown

	Getenv func(string) string

	// Version is rtbench's version, for result files.
	Version string
}

// SystemEnv is the process's own environment.
func SystemEnv() *Env {
	e := &Env{
		In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		InTTY:  term.IsTerminal(os.Stdin.Fd()),
		OutTTY: term.IsTerminal(os.Stdout.Fd()),
		ErrTTY: term.IsTerminal(os.Stderr.Fd()),
		Width:  80,
		Getenv: os.Getenv,
	}
	if e.OutTTY {
		if w, _, err := term.GetSize(os.Stdout.Fd()); err == nil && w > 0 {
			e.Width = w
		}
	} else if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		e.Width = n
	}
	return e
}

// TestEnv returns an Env on buffers: no TTY, width 80, an empty environment.
func TestEnv() (env *Env, stdout, stderr *bytes.Buffer) {
	stdout, stderr = new(bytes.Buffer), new(bytes.Buffer)
	env = &Env{
		In: new(bytes.Buffer), Out: stdout, ErrOut: stderr,
		Width:  80,
		Getenv: func(string) string { return "" },
	}
	return env, stdout, stderr
}

// NoColor reports whether colour must stay off: not a terminal, NO_COLOR set,
// or TERM=dumb.
func (e *Env) NoColor() bool {
	return !e.OutTTY || e.Getenv("NO_COLOR") != "" || e.Getenv("TERM") == "dumb"
}
