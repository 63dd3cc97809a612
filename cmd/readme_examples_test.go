package cmd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// readmeExamples returns every `rtbench …` command line of README.md (the
// working directory is the repository root)'s sh
// blocks: continuations joined, a trailing comment and what follows a pipe
// dropped, environment assignments before it dropped.
func readmeExamples(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	in := false
	var cont string
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "```sh"):
			in = true
			continue
		case strings.HasPrefix(line, "```"):
			in = false
			continue
		case !in:
			continue
		}
		line = cont + line
		cont = ""
		if strings.HasSuffix(line, `\`) {
			cont = strings.TrimSuffix(line, `\`) + " "
			continue
		}
		out = append(out, line)
	}
	var cmds []string
	for _, l := range out {
		l = strings.TrimSpace(l)
		for strings.Contains(strings.SplitN(l, " ", 2)[0], "=") { // VAR=value rtbench …
			_, l, _ = strings.Cut(l, " ")
		}
		if strings.HasPrefix(l, "rtbench ") {
			cmds = append(cmds, l)
		}
	}
	return cmds
}

// shellWords splits a command line as sh does for the README's examples:
// single and double quotes, $JOB expanded from vars, a comment, a pipe or
// an & ends it.
func shellWords(t *testing.T, line string, vars map[string]string) []string {
	t.Helper()
	var words []string
	var w strings.Builder
	inWord, quote := false, byte(0)
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
			} else {
				w.WriteByte(c)
			}
		case c == '\'' || c == '"':
			if quote == c {
				quote = 0
			} else if quote == 0 {
				quote, inWord = c, true
			} else {
				w.WriteByte(c)
			}
		case c == '$' && i+1 < len(line):
			j := i + 1
			for j < len(line) && (line[j] == '_' || line[j] >= 'A' && line[j] <= 'Z') {
				j++
			}
			v, ok := vars[line[i+1:j]]
			if !ok {
				t.Fatalf("%q: $%s is not set by the README", line, line[i+1:j])
			}
			w.WriteString(v)
			inWord, i = true, j-1
		case quote == 0 && (c == ' ' || c == '\t'):
			if inWord {
				words, inWord = append(words, w.String()), false
				w.Reset()
			}
		case quote == 0 && (c == '#' && !inWord || c == '|' || c == '&'):
			i = len(line)
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		t.Fatalf("%q: unbalanced quote", line)
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// TestReadmeExamples: every rtbench command of the README and of the
// commands' --help examples parses and
// validates as written (from the repository's root, where the files it
// names are), through the real commands with their run step replaced: no
// unknown flag, no bad value, no file the reader does not have.
func TestReadmeExamples(t *testing.T) {
	t.Chdir("..")
	ran := 0
	stub := func() map[string]*cobra.Command {
		env, _, _ := TestEnv()
		env.Getenv = func(k string) string {
			return map[string]string{"API_TOKEN": "t", "PASSWORD": "secret", "HOST": "127.0.0.1:8080", "RTBENCH_HOST": "127.0.0.1:8080"}[k]
		}
		return map[string]*cobra.Command{
			"serve":   NewCmdServe(env, func(context.Context, *ServeOptions) error { return nil }),
			"listen":  NewCmdListen(env, func(context.Context, *ListenOptions) error { return nil }),
			"load":    NewCmdLoad(env, func(context.Context, *LoadOptions) error { return nil }),
			"check":   NewCmdCheck(env, func(context.Context, *CheckOptions) error { return nil }),
			"compare": NewCmdCompare(env, func(context.Context, *CompareOptions) error { return nil }),
			"report":  NewCmdReport(env, func(context.Context, *ReportOptions) error { return nil }),
			"diff":    NewCmdDiff(env, func(context.Context, *DiffOptions) error { return nil }),
			"version": NewCmdVersion(env, BuildInfo{}, func(context.Context, *VersionOptions) error { return nil }),
			"k8s":     NewCmdK8s(env, func(context.Context, *K8sJobOptions) error { return nil }),
		}
	}
	// JOB is set by the README's own command; ABLY_KEY is the reader's key,
	// which the README says to export.
	vars := map[string]string{"JOB": "job_1", "ABLY_KEY": "appId.keyId:secret"}
	lines := readmeExamples(t)
	// The --help examples too.
	for _, c := range stub() {
		var cont string
		for _, l := range strings.Split(c.Example, "\n") {
			l = cont + strings.TrimSpace(l)
			cont = ""
			if strings.HasSuffix(l, `\`) {
				cont = strings.TrimSuffix(l, `\`) + " "
				continue
			}
			for strings.Contains(strings.SplitN(l, " ", 2)[0], "=") {
				_, l, _ = strings.Cut(l, " ")
			}
			if strings.HasPrefix(l, "rtbench ") {
				lines = append(lines, l)
			}
		}
	}
	for _, line := range lines {
		words := shellWords(t, line, vars)
		if len(words) < 2 || words[0] != "rtbench" {
			t.Errorf("%q: not an rtbench command", line)
			continue
		}
		c, ok := stub()[words[1]]
		if !ok {
			if words[1] == "completion" || words[1] == "gendocs" {
				continue
			}
			t.Errorf("%q: unknown command %q", line, words[1])
			continue
		}
		c.SetArgs(words[2:])
		c.SetOut(new(strings.Builder))
		c.SetErr(new(strings.Builder))
		c.SilenceErrors, c.SilenceUsage = true, true
		if err := c.Execute(); err != nil {
			t.Errorf("%q: %v", line, err)
		}
		ran++
	}
	if ran < 20 {
		t.Errorf("only %d README examples checked", ran)
	}
}

// TestReadmeDefaults: the defaults the README states are the flags' own.
func TestReadmeDefaults(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := strings.Join(strings.Fields(string(b)), " ")
	env, _, _ := TestEnv()
	spaced := func(d string) string { // "30s" → "30 s", as the README writes durations
		i := strings.IndexFunc(d, func(r rune) bool { return r < '0' || r > '9' })
		return d[:i] + " " + d[i:]
	}
	tests := []struct {
		cmd        *cobra.Command
		flag, text string // text holds %s for the default
		format     func(string) string
	}{
		{NewCmdListen(env, nil), "ttfb-timeout", "fails at `--ttfb-timeout` (%s)", spaced},
		{NewCmdListen(env, nil), "ttfb-timeout", "bounded by `--ttfb-timeout` (%s)", spaced},
		{NewCmdCompare(env, nil), "connections", "(`-c`, default %s)", nil},
		{NewCmdCompare(env, nil), "updates", "(`--updates`, default %s)", nil},
		{NewCmdCompare(env, nil), "duration", "(`-d`, default %s per pattern)", spaced},
	}
	for _, tt := range tests {
		f := tt.cmd.Flags().Lookup(tt.flag)
		if f == nil {
			t.Fatalf("%s has no --%s", tt.cmd.Name(), tt.flag)
		}
		def := f.DefValue
		if tt.format != nil {
			def = tt.format(def)
		}
		if want := fmt.Sprintf(tt.text, def); !strings.Contains(readme, want) {
			t.Errorf("%s --%s defaults to %s, but the README does not say %q", tt.cmd.Name(), tt.flag, f.DefValue, want)
		}
	}
}

// TestReadmeLinks: every file the README links to is in the repository.
func TestReadmeLinks(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	links := regexp.MustCompile(`\]\(([^)#:]+)(#[^)]*)?\)`).FindAllStringSubmatch(string(b), -1)
	if len(links) < 5 {
		t.Fatalf("only %d relative links found", len(links))
	}
	for _, m := range links {
		if _, err := os.Stat(filepath.Join("..", m[1])); err != nil {
			t.Errorf("the README links to %s, which is not in the repository", m[1])
		}
	}
}
