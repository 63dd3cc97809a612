package cmd

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

const module = "github.com/rtbench/rtbench"

// tablePackages are the protocol packages the protocol table lists: the
// imports of transport/client/table.go under transport/, so a protocol
// added to the table is covered by the rules below without editing them.
// Read on first use, from the package directory the tests run in (the
// test binary also runs as rtbench elsewhere: never at init).
var tablePackages = sync.OnceValue(func() []string {
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join("..", "transport", "client", "table.go"), nil, parser.ImportsOnly)
	if err != nil {
		panic("imports test: reading the protocol table: " + err.Error())
	}
	var pkgs []string
	for _, imp := range f.Imports {
		if to, ok := strings.CutPrefix(strings.Trim(imp.Path.Value, `"`), module+"/"); ok && strings.HasPrefix(to, "transport/") {
			pkgs = append(pkgs, to)
		}
	}
	if len(pkgs) < 2 {
		panic("imports test: the protocol table imports no protocol packages")
	}
	return pkgs
})

// protocolPackages are the packages that speak one protocol, and the mock
// built from them: bench imports none of them (it asks the protocol table,
// transport/client).
func protocolPackages() []string {
	return append(slices.Clone(tablePackages()), "transport/mock", "transport/pubsub", "transport/fault")
}

// clientPackages hold protocols' clients: the commands that build sessions
// get them from the protocol table, never from these. (They may import
// transport/aistream for its help text and transport/mock for the
// embedded server.)
func clientPackages() []string {
	return slices.DeleteFunc(slices.Clone(tablePackages()), func(p string) bool { return p == "transport/aistream" })
}

// sessionCommands build sessions, and must do it through the protocol
// table, never from a protocol package.
var sessionCommands = map[string]bool{"cmd/listen.go": true, "cmd/load.go": true, "cmd/check.go": true, "cmd/compare.go": true, "cmd/target.go": true}

// knownImportExceptions are forbidden edges that are being removed.
// None today: keep it that way.
var knownImportExceptions = map[[2]string]bool{}

func under(pkg, tree string) bool { return pkg == tree || strings.HasPrefix(pkg, tree+"/") }

// forbiddenImport says why file (a path from the module root) of package
// from may not import package to (both module-relative), or "" when it may.
// The direction: cmd → bench, report, transport/*; report → bench and the
// transport root; bench → transport; transport/* → transport.
func forbiddenImport(from, file, to string) string {
	switch {
	case under(to, "cmd") && from != ".":
		return "nothing but main imports cmd"
	case under(from, "transport") && (under(to, "bench") || under(to, "report")):
		return "transport imports none of bench, report, cmd"
	case under(from, "bench") && under(to, "report"):
		return "bench measures and never renders: it cannot import report"
	case from == "report" && under(to, "transport") && to != "transport":
		return "report renders: of transport only the root vocabulary; computing belongs with measurement"
	}
	for _, p := range protocolPackages() {
		if under(to, p) && under(from, "bench") {
			return "bench asks the protocol table (transport/client), it imports no protocol package"
		}
	}
	for _, p := range clientPackages() {
		if under(to, p) && sessionCommands[file] {
			return "commands build sessions through the protocol table (transport/client)"
		}
	}
	return ""
}

func TestForbiddenImportRules(t *testing.T) {
	tests := []struct {
		from, file, to string
		forbidden      bool
	}{
		{"cmd", "cmd/load.go", "bench", false},
		{"cmd", "cmd/load.go", "report", false},
		{"cmd", "cmd/load.go", "transport/client", false},
		{"cmd", "cmd/serve.go", "transport/mock", false},
		{".", "main.go", "cmd", false},
		{"cmd", "cmd/compare.go", "transport/mock", false},
		{"cmd", "cmd/listen.go", "transport/sse", true},
		{"cmd", "cmd/check.go", "transport/ws", true},
		{"cmd", "cmd/load.go", "transport/pusher", true},
		{"cmd", "cmd/listen.go", "transport/ably", true},
		{"report", "report/load.go", "bench", false},
		{"report", "report/load.go", "transport", false},
		{"report", "report/summary.go", "transport/aistream", true},
		{"report", "report/load.go", "transport/client", true},
		{"report", "report/load.go", "cmd", true},
		{"bench", "bench/engine.go", "transport", false},
		{"bench", "bench/engine.go", "report", true},
		{"bench/check", "bench/check/run.go", "transport/client", false},
		{"bench/check", "bench/check/run.go", "transport/match", false},
		{"bench/check", "bench/check/run.go", "transport/sse", true},
		{"bench/check", "bench/check/run.go", "transport/poll", true},
		{"bench", "bench/compare.go", "transport/mock", true},
		{"bench", "bench/compare_chat.go", "transport/ably", true},
		{"bench/check", "bench/check/run.go", "transport/pusher", true},
		{"transport/sse", "transport/sse/client.go", "transport", false},
		{"transport/sse", "transport/sse/client.go", "bench", true},
		{"transport/client", "transport/client/table.go", "transport/ws", false},
		{"transport/client", "transport/client/table.go", "report", true},
		{"transport", "transport/tally.go", "cmd", true},
	}
	for _, tt := range tests {
		got := forbiddenImport(tt.from, tt.file, tt.to)
		if (got != "") != tt.forbidden {
			t.Errorf("%s (%s) → %s: forbidden %q, want forbidden=%v", tt.from, tt.file, tt.to, got, tt.forbidden)
		}
	}
}

// TestImportDirection walks every production file of the module and fails
// on an import the direction forbids.
func TestImportDirection(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	seen := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		from := filepath.ToSlash(filepath.Dir(rel))
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			to, ok := strings.CutPrefix(strings.Trim(imp.Path.Value, `"`), module+"/")
			if !ok {
				continue
			}
			seen++
			if why := forbiddenImport(from, rel, to); why != "" && !knownImportExceptions[[2]string{from, to}] {
				t.Errorf("%s imports %s: %s", rel, to, why)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen < 50 {
		t.Fatalf("only %d module imports found under %s: the walk missed the tree", seen, root)
	}
}
