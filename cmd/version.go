package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// VersionOptions are the parsed flags of `rtbench version`.
type VersionOptions struct {
	JSON bool
}

// VersionInfo is what `rtbench version --json` prints. Commit and Date are
// empty when not known (a build without -ldflags and without VCS stamping);
// Version is then "dev".
type VersionInfo struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Date    string `json:"date"`
	Go      string `json:"go"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
}

// NewCmdVersion builds `rtbench version`. build is the resolved BuildInfo
// (see withModuleInfo); runF replaces the run step in tests.
func NewCmdVersion(env *Env, build BuildInfo, runF func(context.Context, *VersionOptions) error) *cobra.Command {
	o := &VersionOptions{}
	c := &cobra.Command{
		Use:   "version",
		Short: "Print rtbench's version, commit, build date, Go version and platform",
		Long: `Print the version of this rtbench binary: the module version, the commit it was
built from, the build date (the commit date for a 'go install' build), the Go version
and the platform. 'rtbench --version' prints the same version on one line.`,
		Example: `  rtbench version
  rtbench version --json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(c.Context(), o)
			}
			return versionRun(env, build, o)
		},
	}
	c.Flags().BoolVar(&o.JSON, "json", false, "print the version as JSON")
	return c
}

func versionRun(env *Env, build BuildInfo, o *VersionOptions) error {
	v := VersionInfo{Version: build.Version, Commit: build.Commit, Date: build.Date,
		Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if v.Version == "" {
		v.Version = "dev" // as --version and result files say
	}
	if o.JSON {
		enc := json.NewEncoder(env.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	unknown := func(s string) string {
		if s == "" {
			return "unknown"
		}
		return s
	}
	tw := tabwriter.NewWriter(env.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "rtbench\t%s\n", v.Version)
	fmt.Fprintf(tw, "commit\t%s\n", unknown(v.Commit))
	fmt.Fprintf(tw, "built\t%s\n", unknown(v.Date))
	fmt.Fprintf(tw, "go\t%s\n", v.Go)
	fmt.Fprintf(tw, "platform\t%s/%s\n", v.OS, v.Arch)
	return tw.Flush()
}

// withModuleInfo fills what the release build's -ldflags did not set from
// the module information the Go toolchain embeds (go install, go build, go
// run): the module version ("(devel)" is not one), vcs.revision as the
// commit (shortened, "-dirty" when vcs.modified) and vcs.time as the date.
// read is debug.ReadBuildInfo outside tests.
func (b BuildInfo) withModuleInfo(read func() (*debug.BuildInfo, bool)) BuildInfo {
	if b.Version != "" && b.Commit != "" && b.Date != "" {
		return b
	}
	info, ok := read()
	if !ok || info == nil {
		return b
	}
	if b.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		b.Version = info.Main.Version
	}
	var rev, at string
	dirty := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if b.Commit == "" && rev != "" {
		b.Commit = rev[:min(len(rev), 12)]
		if dirty {
			b.Commit += "-dirty"
		}
	}
	if b.Date == "" {
		b.Date = at
	}
	return b
}
