package match

import (
	"errors"
	"testing"
)

func TestParseString(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"status==completed", `status == "completed"`},
		{`status == "completed"`, `status == "completed"`},
		{"  status   ==completed  ", `status == "completed"`},
		{"data.progress>50", "data.progress > 50"},
		{"data.progress >= 50 && status != failed", `data.progress >= 50 && status != "failed"`},
		{"choices[0].delta.content", "choices[0].delta.content"},
		{"[0].id==7", "[0].id == 7"},
		{"a[1][2].b<=-1.5e3", "a[1][2].b <= -1.5e3"},
		{`headers["content-type"] =~ json`, `headers.content-type =~ "json"`},
		{`headers["content type"] =~ json`, `headers["content type"] =~ "json"`},
		{`a["b"]`, "a.b"},
		{`a["x.y"]["0"]`, `a["x.y"].0`},
		{`done&&ok`, "done && ok"},
		{"x==true && y==false && z==null", "x == true && y == false && z == null"},
		{`x=="true"`, `x == "true"`},
		{`x == "a \"q\" <b>"`, `x == "a \"q\" <b>"`},
		{`x == "caf\u00e9"`, `x == "café"`},
		{"x == v1.2:ok", `x == "v1.2:ok"`},
		{"x=~^Hel+o$", `x =~ "^Hel+o$"`},
		{`x =~ "(a|b)[0-9]"`, `x =~ "(a|b)[0-9]"`},
		{"größe > 1", "größe > 1"},
		{"$id==@x", `$id == "@x"`},
		{"big == 123456789012345678901234567890", "big == 123456789012345678901234567890"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			e, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := e.String(); got != tt.want {
				t.Fatalf("String() = %s, want %s", got, tt.want)
			}
			again, err := Parse(e.String())
			if err != nil {
				t.Fatalf("Parse(String()): %v", err)
			}
			if again.String() != tt.want {
				t.Fatalf("round trip: %s, want %s", again, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in   string
		pos  int
		want string // the whole message
	}{
		{"status=completed", 6, `bad expression "status=completed": at 6: want an operator (==, !=, <, <=, >, >=, =~)`},
		{"", 0, `bad expression "": at 0: empty expression; want a condition like status==completed`},
		{"   ", 3, `bad expression "   ": at 3: empty expression; want a condition like status==completed`},
		{"status completed", 7, `bad expression "status completed": at 7: want an operator (==, !=, <, <=, >, >=, =~)`},
		{"a==", 3, `bad expression "a==": at 3: want a value: a number, a "string", true, false, null or a bare word`},
		{"a==b c", 5, `bad expression "a==b c": at 5: want && or the end of the expression`},
		{"a==b &&", 7, `bad expression "a==b &&": at 7: want a condition after &&`},
		{"a==b & c", 5, `bad expression "a==b & c": at 5: want && or the end of the expression`},
		{"a.", 2, `bad expression "a.": at 2: want a field name`},
		{"a..b", 2, `bad expression "a..b": at 2: want a field name`},
		{"==1", 0, `bad expression "==1": at 0: want a field name`},
		{"a[", 2, `bad expression "a[": at 2: want an array index or a quoted key inside [ ]`},
		{"a[x]", 2, `bad expression "a[x]": at 2: want an array index or a quoted key inside [ ]`},
		{"a[1", 3, `bad expression "a[1": at 3: want ]`},
		{"a[99999999999999999999]", 2, `bad expression "a[99999999999999999999]": at 2: array index too large`},
		{`a["x`, 2, `bad expression "a[\"x": at 2: unterminated string`},
		{`a=="x\q"`, 3, `bad expression "a==\"x\\q\"": at 3: bad string (JSON string syntax): "x\q"`},
		{"a<high", 2, `bad expression "a<high": at 2: < compares numbers; want a number`},
		{`a>="1"`, 3, `bad expression "a>=\"1\"": at 3: >= compares numbers; want a number`},
		{"v==1.2.3", 3, `bad expression "v==1.2.3": at 3: 1.2.3 is not a JSON number; quote it to compare a string: "1.2.3"`},
		{"v==01", 3, `bad expression "v==01": at 3: 01 is not a JSON number; quote it to compare a string: "01"`},
		{"a=~", 3, `bad expression "a=~": at 3: want a regular expression (quote it if it holds spaces, brackets or |)`},
		{`a=~"("`, 3, "bad expression \"a=~\\\"(\\\"\": at 3: bad regular expression: error parsing regexp: missing closing ): `(`"},
		{"a==\xff", 3, `bad expression "a==\xff": at 3: invalid UTF-8`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			e, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse = %s, want an error", e)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %T, want *SyntaxError", err)
			}
			if se.Pos != tt.pos || se.Input != tt.in {
				t.Errorf("Pos %d Input %q, want %d %q", se.Pos, se.Input, tt.pos, tt.in)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got: %s\nwant: %s", err, tt.want)
			}
		})
	}
}

func TestSyntaxErrorFlag(t *testing.T) {
	_, err := Parse("status=completed")
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatal(err)
	}
	se.Flag = "--until"
	if want := `bad --until "status=completed": at 6: want an operator (==, !=, <, <=, >, >=, =~)`; se.Error() != want {
		t.Fatalf("got %s, want %s", se, want)
	}
}

func TestMustParse(t *testing.T) {
	if MustParse("a").String() != "a" {
		t.Fatal("MustParse(a)")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("MustParse of a bad expression did not panic")
		}
	}()
	MustParse("a=")
}
