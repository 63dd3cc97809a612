package cmd

import (
	"encoding/json"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// TestVersionCommand: `rtbench version` (text and --json) and `--version`
// say the same version, commit and date, with the Go version and platform.
func TestVersionCommand(t *testing.T) {
	tests := []struct {
		name                 string
		build                BuildInfo
		wantFlag             string // --version
		wantVer, wantCommit  string // version --json
		textDate, textCommit string // version: the built and commit lines
	}{
		{"release", BuildInfo{Version: "1.2.3", Commit: "abc1234", Date: "2026-11-27T10:00:00Z"},
			"rtbench 1.2.3 (commit abc1234, built 2026-11-27T10:00:00Z)\n", "1.2.3", "abc1234", "2026-11-27T10:00:00Z", "abc1234"},
		// A test binary has neither -ldflags nor VCS stamping.
		{"unstamped", BuildInfo{}, "rtbench dev\n", "dev", "", "unknown", "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := func(args ...string) string {
				t.Helper()
				env, out, errOut := TestEnv()
				if code := Run(t.Context(), env, tt.build, args); code != 0 || errOut.Len() > 0 {
					t.Fatalf("%v: exit %d, stderr %q", args, code, errOut)
				}
				return out.String()
			}
			if got := run("--version"); got != tt.wantFlag {
				t.Errorf("--version = %q, want %q", got, tt.wantFlag)
			}
			var v VersionInfo
			if err := json.Unmarshal([]byte(run("version", "--json")), &v); err != nil {
				t.Fatal(err)
			}
			want := VersionInfo{Version: tt.wantVer, Commit: tt.wantCommit, Date: tt.build.Date,
				Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
			if v != want {
				t.Errorf("version --json = %+v, want %+v", v, want)
			}
			text := run("version")
			wantLines := []string{
				"rtbench   " + tt.wantVer,
				"commit    " + tt.textCommit,
				"built     " + tt.textDate,
				"go        " + runtime.Version(),
				"platform  " + runtime.GOOS + "/" + runtime.GOARCH,
			}
			if got := lines(text); strings.Join(got, "\n") != strings.Join(wantLines, "\n") {
				t.Errorf("version:\n%s\nwant:\n%s", text, strings.Join(wantLines, "\n"))
			}
		})
	}
	env, _, errOut := TestEnv()
	if code := Run(t.Context(), env, BuildInfo{}, []string{"version", "extra"}); code != ExitUsage || strings.Count(errOut.String(), "\n") != 1 {
		t.Errorf("version extra: exit %d, stderr %q; want 2 and one line", code, errOut)
	}
}

// TestWithModuleInfo: what -ldflags left empty comes from the embedded
// module and VCS information, never overriding what the release set.
func TestWithModuleInfo(t *testing.T) {
	stamped := func(version string, settings ...string) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			bi := &debug.BuildInfo{Main: debug.Module{Path: "github.com/rtbench/rtbench", Version: version}}
			for i := 0; i+1 < len(settings); i += 2 {
				bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
			}
			return bi, true
		}
	}
	rev := "4f41c9f59263aa00bb11cc22dd33ee44ff556677"
	tests := []struct {
		name  string
		build BuildInfo
		read  func() (*debug.BuildInfo, bool)
		want  BuildInfo
	}{
		{"ldflags win", BuildInfo{Version: "1.2.3", Commit: "abc1234", Date: "2026-11-27"},
			stamped("v9.9.9", "vcs.revision", rev), BuildInfo{Version: "1.2.3", Commit: "abc1234", Date: "2026-11-27"}},
		{"go install", BuildInfo{}, stamped("v1.4.0"), BuildInfo{Version: "v1.4.0"}},
		{"go build in a clone", BuildInfo{},
			stamped("v0.0.0-20261127115542-4f41c9f59263", "vcs.revision", rev, "vcs.time", "2026-11-27T11:55:42Z", "vcs.modified", "false"),
			BuildInfo{Version: "v0.0.0-20261127115542-4f41c9f59263", Commit: "4f41c9f59263", Date: "2026-11-27T11:55:42Z"}},
		{"dirty tree", BuildInfo{}, stamped("(devel)", "vcs.revision", rev, "vcs.modified", "true"),
			BuildInfo{Commit: "4f41c9f59263-dirty"}},
		{"only the version from ldflags", BuildInfo{Version: "1.2.3"}, stamped("(devel)", "vcs.revision", "abc", "vcs.time", "2026-01-02T03:04:05Z"),
			BuildInfo{Version: "1.2.3", Commit: "abc", Date: "2026-01-02T03:04:05Z"}},
		{"no build info", BuildInfo{}, func() (*debug.BuildInfo, bool) { return nil, false }, BuildInfo{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.build.withModuleInfo(tt.read); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
