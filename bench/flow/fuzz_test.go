package flow

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzScenario: no input makes the scenario reader panic or hang, and what it
// accepts has steps with names and indexes that agree.
func FuzzScenario(f *testing.F) {
	f.Add([]byte(appFlow))
	f.Add([]byte("steps:\n  - repeat: 2\n    steps: [{sleep: 1s}, {think: 1s-2s}]\n"))
	f.Add([]byte("base: http://h:1\nsteps:\n  - subscribe: {url: ws://h:1/ws, send: ['x ${session}'], until: 'text==x'}\n"))
	seeds, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "flow", "*.yaml"))
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := Parse("f.yaml", data, func(string) string { return "v" }, "http://127.0.0.1:1")
		if err != nil {
			return
		}
		var walk func([]*Step)
		n := 0
		walk = func(steps []*Step) {
			for _, st := range steps {
				if sc.names[st.index] != st.Name {
					t.Fatalf("step %q has index %d, named %q", st.Name, st.index, sc.names[st.index])
				}
				n++
				walk(st.Steps)
			}
		}
		walk(sc.Steps)
		if n != len(sc.names) || n == 0 {
			t.Fatalf("%d steps, %d names", n, len(sc.names))
		}
	})
}
