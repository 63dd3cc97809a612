package match

import "testing"

func TestLookup(t *testing.T) {
	doc := ` { "a" : { "b" : [ 10 , "x,]}" , { "c" : null } ] } , "s" : "v" , "a2":[] } `
	tests := []struct {
		path []seg
		want string
		ok   bool
	}{
		{nil, `{ "a" : { "b" : [ 10 , "x,]}" , { "c" : null } ] } , "s" : "v" , "a2":[] }`, true},
		{[]seg{{key: "s"}}, `"v"`, true},
		{[]seg{{key: "a"}, {key: "b"}, {index: 0, isIndex: true}}, `10`, true},
		{[]seg{{key: "a"}, {key: "b"}, {index: 1, isIndex: true}}, `"x,]}"`, true},
		{[]seg{{key: "a"}, {key: "b"}, {index: 2, isIndex: true}, {key: "c"}}, `null`, true},
		{[]seg{{key: "a"}, {key: "b"}, {index: 3, isIndex: true}}, ``, false},
		{[]seg{{key: "a2"}, {index: 0, isIndex: true}}, ``, false},
		{[]seg{{key: "b"}}, ``, false},
		{[]seg{{index: 0, isIndex: true}}, ``, false},
		{[]seg{{key: "s"}, {key: "x"}}, ``, false},
	}
	for _, tt := range tests {
		got, ok := lookup([]byte(doc), tt.path)
		if ok != tt.ok || string(got) != tt.want {
			t.Errorf("lookup(%v) = %q, %v; want %q, %v", tt.path, got, ok, tt.want, tt.ok)
		}
	}
}

func TestText(t *testing.T) {
	tests := []struct{ raw, want string }{
		{`""`, ""},
		{`"plain"`, "plain"},
		{`"a\"b\\c\u00e9\n"`, "a\"b\\cé\n"},
	}
	for _, tt := range tests {
		got, ok := text([]byte(tt.raw))
		if !ok || string(got) != tt.want {
			t.Errorf("text(%s) = %q, %v; want %q", tt.raw, got, ok, tt.want)
		}
	}
}
