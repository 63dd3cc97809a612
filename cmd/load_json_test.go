package cmd

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rtbench/rtbench/transport/mock"
)

// TestLoadJSONReadsBack: `load --json > r.json; rtbench report r.json`
// works (report refused the rtbench.load/v1 envelope), and --json prints
// the very bytes --out saves.
func TestLoadJSONReadsBack(t *testing.T) {
	base := startMock(t, mock.Config{})
	dir := t.TempDir()
	saved := filepath.Join(dir, "out.json")
	code, stdout, stderr := runLoad(t, t.Context(), "-c", "2", "-d", "1s", "--json", "--out", saved,
		"--threshold", "errors<1%", "--allow-saturated", base+"/sse?rate=10")
	if code != 0 {
		t.Fatalf("load: exit %d\n%s", code, stderr)
	}
	if b, _ := os.ReadFile(saved); !bytes.Equal(b, []byte(stdout)) {
		t.Fatalf("--json printed\n%s\n--out saved\n%s", stdout, b)
	}
	printed := filepath.Join(dir, "printed.json")
	os.WriteFile(printed, []byte(stdout), 0o644)
	env, out, errOut := TestEnv()
	if code := Run(t.Context(), env, BuildInfo{}, []string{"report", printed}); code != 0 {
		t.Fatalf("report of load --json: exit %d\n%s", code, errOut)
	}
	if !strings.Contains(out.String(), "rtbench load · sse") {
		t.Errorf("report output:\n%s", out)
	}
	if !strings.Contains(stdout, `"thresholds"`) || !strings.Contains(stdout, `"threshold": "errors\u003c1%"`) {
		t.Errorf("the document holds no threshold outcomes:\n%s", stdout)
	}
}
