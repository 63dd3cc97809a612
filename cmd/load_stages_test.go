package cmd

import (
	"path/filepath"
	"testing"

	"github.com/rtbench/rtbench/transport/mock"
)

// TestLoadStagesSetTheLength: --stages define the run's length unless -d is
// given (they were cut or padded to the default -d 30s).
func TestLoadStagesSetTheLength(t *testing.T) {
	base := startMock(t, mock.Config{})
	tests := []struct {
		name string
		args []string
		want float64 // params.duration_s
	}{
		{"stages alone", []string{"--stages", "1s:2,500ms:2"}, 1.5},
		{"-d given cuts them", []string{"--stages", "1s:2,2s:2", "-d", "1s"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "r.json")
			args := append(tt.args, "--out", out, base+"/sse?rate=10")
			if code, stdout, stderr := runLoad(t, t.Context(), args...); code != 0 {
				t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
			}
			if got := readResult(t, out).Params.DurationS; got != tt.want {
				t.Errorf("duration_s %v, want %v", got, tt.want)
			}
		})
	}
}
