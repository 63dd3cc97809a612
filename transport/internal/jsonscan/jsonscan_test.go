package jsonscan

import (
	"bytes"
	"encoding/json"
	"runtime"
	"strings"
	"testing"
)

// whole reports whether b is one JSON value with only white space around
// it, as Value reads it.
func whole(b []byte) bool {
	i := Space(b, 0)
	end, ok := Value(b, i, 0)
	return ok && Space(b, end) == len(b)
}

func TestValueAgreesWithValid(t *testing.T) {
	for _, in := range []string{
		`{}`, `[]`, ` {"a" : [1, -0.5e+3, "x\u00e9\n", true, false, null]} `, `"\ud83d\ude00"`, `0`, `-0`, `1E9`,
		`{"a":1,}`, `[1,]`, `01`, `1.`, `.5`, `-`, `+1`, `"\x"`, `"\u12g4"`, "\"tab\tinside\"", `tru`, `nul`,
		`{"a"}`, `{"a":}`, `{1:2}`, `[1 2]`, `"unterminated`, ``, ` `, `{} {}`, "\xff", `"\xff"`,
		strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth),
		strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1),
		strings.Repeat(`{"a":`, MaxDepth) + "1" + strings.Repeat("}", MaxDepth),
		strings.Repeat(`{"a":`, MaxDepth+1) + "1" + strings.Repeat("}", MaxDepth+1),
	} {
		if got, want := whole([]byte(in)), json.Valid([]byte(in)); got != want {
			t.Errorf("Value(%.40q…) valid %v, json.Valid %v", in, got, want)
		}
	}
}

// TestNumberAtEnd: a number expected where the input ends (a frame cut
// after its colon) is an error, not a panic.
func TestNumberAtEnd(t *testing.T) {
	for _, in := range []string{``, `{"timestamp":`, `-`} {
		b := []byte(in)
		if end, ok := Number(b, len(b)-len(strings.TrimSuffix(in, "-"))); ok || end > len(b) {
			t.Errorf("Number(%q) = %d, %v; want an error within bounds", in, end, ok)
		}
	}
}

func TestObjectFields(t *testing.T) {
	in := []byte(`{"a":1, "b" : {"c":[2]}, "\u0061":"last", "x":null}`)
	names := []string{"a", "b", "missing"}
	vals := make([][]byte, len(names))
	var scratch []byte
	end, ok := Object(in, 0, 0, names, vals, &scratch)
	if !ok || end != len(in) {
		t.Fatalf("Object: end %d ok %v", end, ok)
	}
	// The last of duplicate members wins, keys compared decoded.
	for k, want := range []string{`"last"`, `{"c":[2]}`, ``} {
		if string(vals[k]) != want {
			t.Errorf("%s = %q, want %q", names[k], vals[k], want)
		}
	}
}

func TestAppendStringAndSpaced(t *testing.T) {
	for _, in := range []string{`"plain"`, `"a\"b\\c\/d\b\f\n\r\t"`, `"\u00e9\ud83d\ude00"`, `"\ud800 lone"`, "\"bad \xff byte\""} {
		var want string
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatal(err)
		}
		if got := string(AppendString(nil, []byte(in))); got != want {
			t.Errorf("AppendString(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]bool{`{"a":"b c"}`: false, `{"a": 1}`: true, `["x",` + "\n" + `1]`: true, `"  "`: false, `12`: false} {
		if got := Spaced([]byte(in)); got != want {
			t.Errorf("Spaced(%q) = %v, want %v", in, got, want)
		}
	}
}

// FuzzValue: Value accepts exactly what json.Valid accepts; a valid string
// decodes as encoding/json decodes it; Spaced says whether json.Compact
// changes a valid value.
// stringByBytes is String as it was before plainRun: one byte at a time.
func stringByBytes(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return i, false
	}
	for i++; i < len(b); {
		switch c := b[i]; {
		case c == '"':
			return i + 1, true
		case c == '\\':
			if i+1 >= len(b) {
				return i + 1, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for k := 2; k < 6; k++ {
					if i+k >= len(b) || unhex(b[i+k]) < 0 {
						return i + k, false
					}
				}
				i += 6
			default:
				return i + 1, false
			}
		case c < 0x20:
			return i, false
		default:
			i++
		}
	}
	return len(b), false
}

// TestStringEveryPosition: String agrees with the byte-at-a-time scan for
// every special byte (and a few plain neighbours of them) at every offset
// of strings up to 40 bytes long, cut at every length: the 8-byte test of
// plainRun must find each one wherever it falls in a word.
func TestStringEveryPosition(t *testing.T) {
	specials := []byte{'"', '\\', 0x00, 0x1f, 0x20, 0x21, 0x5b, 0x5d, 0x7f, 0x80, 0xc3, 0xff, '\n', '\t', 0x01, 0x02}
	for n := 0; n <= 40; n++ {
		for pos := 0; pos < n; pos++ {
			for _, c := range specials {
				b := []byte(`"` + strings.Repeat("a", n) + `"`)
				b[1+pos] = c
				for cut := 0; cut <= len(b); cut++ {
					in := b[:cut]
					gotEnd, gotOK := String(in, 0)
					wantEnd, wantOK := stringByBytes(in, 0)
					if gotEnd != wantEnd || gotOK != wantOK {
						t.Fatalf("String(%q) = %d, %v; byte by byte %d, %v", in, gotEnd, gotOK, wantEnd, wantOK)
					}
				}
			}
		}
	}
}

func BenchmarkString(b *testing.B) {
	chunk := []byte(`"chatcmpl-9c1f2a7b3d5e4f60a8b9c0d1e2f3a4b5"`)
	for _, tc := range []struct {
		name string
		f    func([]byte, int) (int, bool)
	}{{"words", String}, {"bytes", stringByBytes}} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(chunk)))
			for b.Loop() {
				if _, ok := tc.f(chunk, 0); !ok {
					b.Fatal("not a string")
				}
			}
		})
	}
}

func FuzzValue(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5e-3,"x\u00e9"],"b":null}`, `"\ud83d\ude00\n"`, `[true, false]`, `-0.0E+1`, `{"a" :{}}`, `"\ud800"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// From any offset, the end included (a caller at the end of its
		// input): no panic, and indexes within b.
		var scratch []byte
		vals := make([][]byte, 1)
		for i := 0; i <= len(b); i++ {
			for name, end := range map[string]int{
				"Number": first(Number(b, i)), "String": first(String(b, i)), "Value": first(Value(b, i, 0)),
				"Array": first(arrayAt(b, i)), "Object": first(objectAt(b, i, vals, &scratch)),
			} {
				if end < 0 || end > len(b) {
					t.Fatalf("%s(%q, %d) = %d, out of bounds", name, b, i, end)
				}
			}
		}
		valid := json.Valid(b)
		if got := whole(b); got != valid {
			t.Fatalf("Value(%q) valid %v, json.Valid %v", b, got, valid)
		}
		if !valid {
			return
		}
		v := b[Space(b, 0):]
		end, _ := Value(v, 0, 0)
		v = v[:end]
		if v[0] == '"' {
			var want string
			if err := json.Unmarshal(v, &want); err != nil {
				t.Fatal(err)
			}
			if got := string(AppendString(nil, v)); got != want {
				t.Fatalf("AppendString(%q) = %q, want %q", v, got, want)
			}
		}
		var c bytes.Buffer
		if err := json.Compact(&c, v); err != nil {
			t.Fatal(err)
		}
		if got, want := Spaced(v), !bytes.Equal(c.Bytes(), v); got != want {
			t.Fatalf("Spaced(%q) = %v, but json.Compact gives %q", v, got, c.Bytes())
		}
	})
}

func first(i int, _ bool) int { return i }

// arrayAt and objectAt call Array and Object where their callers do: at a
// '[' or '{'.
func arrayAt(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '[' {
		return Array(b, i, 0)
	}
	return i, false
}

func objectAt(b []byte, i int, vals [][]byte, scratch *[]byte) (int, bool) {
	if i < len(b) && b[i] == '{' {
		return Object(b, i, 0, []string{"a"}, vals, scratch)
	}
	return i, false
}

// TestDeepNestingKeepsTheStackSmall: a value nested MaxDepth deep is
// checked without a stack frame per level (a hostile server's payload would
// otherwise grow the goroutine of every session that reads it to
// megabytes), and 64 levels without allocating.
func TestDeepNestingKeepsTheStackSmall(t *testing.T) {
	deep := []byte(strings.Repeat(`{"a":[`, MaxDepth/2-1) + "1" + strings.Repeat("]}", MaxDepth/2-1))
	stacks := func() uint64 {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.StackInuse
	}
	before := stacks()
	got := make(chan uint64)
	go func() {
		if _, ok := Value(deep, 0, 0); !ok {
			t.Error("a valid value nested MaxDepth-2 deep was refused")
		}
		got <- stacks()
	}()
	if grew := int64(<-got) - int64(before); grew > 64<<10 {
		t.Errorf("checking %d levels grew the stacks by %d KiB, want a few", MaxDepth-2, grew>>10)
	}
	shallow := []byte(strings.Repeat("[", 64) + strings.Repeat("]", 64))
	if n := testing.AllocsPerRun(100, func() { Value(shallow, 0, 0) }); n != 0 {
		t.Errorf("64 levels: %v allocations, want 0", n)
	}
}
