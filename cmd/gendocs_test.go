package cmd

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestEcoHelperProcess is not a test: the rtbench script that ecoBin writes
// runs this test binary with it, to act as the rtbench binary (Main with the
// arguments after "--").
func TestEcoHelperProcess(t *testing.T) {
	if os.Getenv("RTBENCH_ECO_HELPER") != "1" {
		t.Skip("runs only as the rtbench of ecoBin")
	}
	args := os.Args
	if i := slices.Index(args, "--"); i >= 0 {
		args = args[i+1:]
	}
	os.Exit(Main(BuildInfo{Version: "test"}, args))
}

// ecoBin returns a directory holding an executable `rtbench` (this test
// binary through TestEcoHelperProcess), to put first on a shell's PATH.
func ecoBin(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	script := "#!/bin/sh\nRTBENCH_ECO_HELPER=1 exec '" + self + "' -test.run='^TestEcoHelperProcess$' -- \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, "rtbench"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// ecoGendocs runs `rtbench gendocs` with args and returns the exit code and
// stderr.
func ecoGendocs(t *testing.T, getenv map[string]string, args ...string) (int, string) {
	t.Helper()
	env, _, errOut := TestEnv()
	env.Getenv = func(k string) string { return getenv[k] }
	code := Run(t.Context(), env, BuildInfo{}, append([]string{"gendocs"}, args...))
	return code, errOut.String()
}

// TestGendocsManPages: one man page per visible command, named as man(1)
// looks them up, each with its command's examples and a date that comes
// from the source (so two builds of one commit give the same bytes).
var manPlaceholder = regexp.MustCompile(`<[a-z]+>`)

func TestGendocsManPages(t *testing.T) {
	dir := t.TempDir()
	man := filepath.Join(dir, "man")
	if code, errOut := ecoGendocs(t, nil, "--man", man, "--date", "1795600000"); code != 0 {
		t.Fatalf("gendocs: exit %d: %s", code, errOut)
	}
	env, _, _ := TestEnv()
	root := NewRootCmd(env, BuildInfo{})
	var want []*cobra.Command
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" {
			return
		}
		want = append(want, c)
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	if len(want) < 7 {
		t.Fatalf("only %d commands to document", len(want))
	}
	for _, c := range want {
		name := strings.ReplaceAll(c.CommandPath(), " ", "-") + ".1"
		page, err := os.ReadFile(filepath.Join(man, name))
		if err != nil {
			t.Errorf("%s: %v", c.CommandPath(), err)
			continue
		}
		s := string(page)
		if !strings.Contains(s, `.TH "`+strings.ToUpper(strings.ReplaceAll(c.CommandPath(), " ", "-"))+`" "1" "Nov 2026" "rtbench"`) {
			t.Errorf("%s: header is not dated Nov 2026 (from --date): %.120q", name, s)
		}
		if !strings.Contains(s, c.Short) {
			t.Errorf("%s lacks the command's summary %q", name, c.Short)
		}
		for l := range strings.SplitSeq(c.Example, "\n") {
			// roff doubles a backslash.
			if l = strings.ReplaceAll(l, `\`, `\\`); strings.TrimSpace(l) != "" && !strings.Contains(s, l) {
				t.Errorf("%s lacks the example line %q", name, l)
			}
		}
		// Placeholders of the help text (<metric>, <op> …) are text, not
		// HTML tags that go-md2man drops ("A threshold is .  ,").
		for _, ph := range manPlaceholder.FindAllString(c.Long, -1) {
			if !strings.Contains(s, ph) {
				t.Errorf("%s lacks the placeholder %s of its help", name, ph)
			}
		}
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if strings.Contains(f.Usage, "<") && !strings.Contains(s, strings.Split(f.Usage, "<")[1][:4]) {
				t.Errorf("%s: --%s's usage lost its '<': %q", name, f.Name, f.Usage)
			}
		})
		if strings.Contains(s, "Auto generated") {
			t.Errorf("%s has cobra's generated-by line", name)
		}
	}
	for _, n := range []string{"rtbench.1", "rtbench-serve.1", "rtbench-listen.1", "rtbench-load.1", "rtbench-report.1", "rtbench-compare.1", "rtbench-version.1"} {
		if _, err := os.Stat(filepath.Join(man, n)); err != nil {
			t.Errorf("missing %s", n)
		}
	}
	if _, err := os.Stat(filepath.Join(man, "rtbench-gendocs.1")); err == nil {
		t.Error("the hidden gendocs command has a man page")
	}

	// Reproducible: SOURCE_DATE_EPOCH gives the same date, and so the same
	// bytes, as --date did.
	again := filepath.Join(dir, "again")
	if code, errOut := ecoGendocs(t, map[string]string{"SOURCE_DATE_EPOCH": "1795600000"}, "--man", again); code != 0 {
		t.Fatalf("gendocs with SOURCE_DATE_EPOCH: exit %d: %s", code, errOut)
	}
	for _, c := range want {
		name := strings.ReplaceAll(c.CommandPath(), " ", "-") + ".1"
		a, _ := os.ReadFile(filepath.Join(man, name))
		b, err := os.ReadFile(filepath.Join(again, name))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs between two runs with the same date (%v)", name, err)
		}
	}
}

// TestManDate: the man pages' date comes from --date, SOURCE_DATE_EPOCH or
// the build date, in that order, and never from the clock.
func TestManDate(t *testing.T) {
	day := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		flag, epoch, built string
		want               time.Time
		wantErr            string
	}{
		{flag: "2026-11-27", epoch: "1", built: "2000-01-01", want: day},
		{flag: "1795737600", want: day},
		{epoch: "1795737600", built: "2000-01-01", want: day},
		{built: "2026-11-27T00:00:00Z", want: day},
		{built: "2026-11-27T01:00:00+01:00", want: day},
		{flag: "last tuesday", wantErr: `--date "last tuesday"`},
		{epoch: "soon", wantErr: "SOURCE_DATE_EPOCH"},
		{wantErr: "no stable date"},
	}
	for _, tt := range tests {
		got, err := manDate(tt.flag, tt.epoch, tt.built)
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || exitCode(err) != ExitUsage {
				t.Errorf("manDate(%q, %q, %q) = %v, %v; want a usage error mentioning %q", tt.flag, tt.epoch, tt.built, got, err, tt.wantErr)
			}
		case err != nil || !got.Equal(tt.want):
			t.Errorf("manDate(%q, %q, %q) = %v, %v; want %v", tt.flag, tt.epoch, tt.built, got, err, tt.want)
		}
	}
}

// TestGendocsCompletions: four completion scripts, each wired to rtbench's
// __complete; the bash one is valid bash and, sourced into bash, completes
// the subcommands by running rtbench.
func TestGendocsCompletions(t *testing.T) {
	dir := t.TempDir()
	if code, errOut := ecoGendocs(t, nil, "--completions", dir); code != 0 {
		t.Fatalf("gendocs: exit %d: %s", code, errOut)
	}
	for _, tt := range []struct{ file, mark string }{
		{"rtbench.bash", "complete -o default -F __start_rtbench rtbench"},
		{"_rtbench", "#compdef rtbench"},
		{"rtbench.fish", "complete -c rtbench"},
		{"rtbench.ps1", "Register-ArgumentCompleter -CommandName 'rtbench'"},
	} {
		b, err := os.ReadFile(filepath.Join(dir, tt.file))
		if err != nil {
			t.Error(err)
			continue
		}
		if s := string(b); !strings.Contains(s, tt.mark) || !strings.Contains(s, "__complete") {
			t.Errorf("%s (%d bytes) lacks %q or the __complete call", tt.file, len(b), tt.mark)
		}
	}

	// What every script shows is what `rtbench __complete` answers.
	env, out, _ := TestEnv()
	if code := Run(t.Context(), env, BuildInfo{}, []string{"__complete", ""}); code != 0 {
		t.Fatalf("__complete: exit %d", code)
	}
	subs := []string{"serve", "listen", "load", "report", "compare", "version", "completion"}
	for _, s := range subs {
		if !strings.Contains("\n"+out.String(), "\n"+s+"\t") {
			t.Errorf("__complete lacks %s:\n%s", s, out)
		}
	}
	if strings.Contains(out.String(), "gendocs") {
		t.Errorf("__complete offers the hidden gendocs:\n%s", out)
	}

	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash to check the bash script with")
	}
	script := filepath.Join(dir, "rtbench.bash")
	if b, err := exec.Command(bash, "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("bash -n %s: %v\n%s", script, err, b)
	}
	// Complete "rtbench " as bash would on Tab, without the bash-completion
	// package (the script falls back to _get_comp_words_by_ref, stubbed).
	drive := `_get_comp_words_by_ref() { cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}; words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; }
source "$1"
COMP_WORDS=(rtbench "$2"); COMP_CWORD=1; COMP_LINE="rtbench $2"; COMP_POINT=${#COMP_LINE}; COMP_TYPE=9
__start_rtbench
printf '%s\n' "${COMPREPLY[@]}"`
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	for _, tt := range []struct {
		word string
		want []string
	}{
		{"", subs},
		{"lo", []string{"load"}},
	} {
		c := exec.CommandContext(ctx, bash, "-c", drive, "drive", script, tt.word)
		c.Env = append(os.Environ(), "PATH="+ecoBin(t)+string(os.PathListSeparator)+os.Getenv("PATH"))
		b, err := c.Output()
		if err != nil {
			t.Fatalf("completing %q in bash: %v", tt.word, err)
		}
		got := strings.Fields(string(b))
		for _, w := range tt.want {
			if !slices.Contains(got, w) {
				t.Errorf("bash completes %q to %q, want %s among them", tt.word, got, w)
			}
		}
		if tt.word == "lo" && len(got) != 1 {
			t.Errorf("bash completes %q to %q, want only load", tt.word, got)
		}
	}
}

// TestGendocsUsage: bad invocations are usage errors on one line.
func TestGendocsUsage(t *testing.T) {
	tests := []struct {
		args    []string
		mention string
	}{
		{nil, "--man DIR"},
		{[]string{"--man", t.TempDir(), "--date", "yesterday"}, `--date "yesterday"`},
		{[]string{"--completions", t.TempDir(), "extra"}, "unknown command"},
	}
	for _, tt := range tests {
		code, errOut := ecoGendocs(t, nil, tt.args...)
		if code != ExitUsage || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, tt.mention) {
			t.Errorf("gendocs %q: exit %d, stderr %q; want 2 and one line mentioning %q", tt.args, code, errOut, tt.mention)
		}
	}
}
