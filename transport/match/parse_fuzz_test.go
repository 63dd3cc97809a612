package match

import (
	"bufio"
	"os"
	"testing"
)

// FuzzParse checks that Parse never panics, that String is canonical
// (Parse(e.String()) succeeds and prints the same), and that Match never
// panics on the fuzzed document.
func FuzzParse(f *testing.F) {
	seeds, err := os.Open("testdata/exprs.txt")
	if err != nil {
		f.Fatal(err)
	}
	defer seeds.Close()
	doc := `{"status":"completed","progress":100,"a":[[0,0,{"b":-2000}]],"choices":[{"delta":{"content":"Hello"}}]}`
	for sc := bufio.NewScanner(seeds); sc.Scan(); {
		f.Add(sc.Text(), doc)
	}
	f.Add("[0]", `[1]`)
	f.Add(`a["\ud800"]`, `{"a":1}`)
	f.Fuzz(func(t *testing.T, expr, doc string) {
		e, err := Parse(expr)
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Fatalf("error %T, want *SyntaxError", err)
			}
			return
		}
		s := e.String()
		again, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q does not parse: %v", expr, s, err)
		}
		if s2 := again.String(); s2 != s {
			t.Fatalf("String not canonical: %q → %q → %q", expr, s, s2)
		}
		if e.Match([]byte(doc)) != again.Match([]byte(doc)) {
			t.Fatalf("%q and its String %q match %q differently", expr, s, doc)
		}
	})
}
