package specfile

import (
	"strings"
	"testing"
)

func TestExpand(t *testing.T) {
	env := func(k string) string { return map[string]string{"HOST": "h:1", "TOKEN": "t"}[k] }
	keep := func(k string) (string, bool) {
		if k == "token" {
			return "<token>", true
		}
		return "", false
	}
	tests := []struct {
		in, want, missing string
	}{
		{"http://${HOST}/x", "http://h:1/x", ""},
		{"$HOST and ${TOKEN}", "h:1 and t", ""},
		{"${token} ${TOKEN}", "<token> t", ""},
		{"${NOPE}/${HOST}/${ALSO}", "/h:1/", "${NOPE},${ALSO}"},
		{"no vars", "no vars", ""},
	}
	for _, tt := range tests {
		got, missing := Expand(tt.in, env, keep)
		if got != tt.want || strings.Join(missing, ",") != tt.missing {
			t.Errorf("Expand(%q) = %q, missing %v; want %q, %q", tt.in, got, missing, tt.want, tt.missing)
		}
	}
}

func TestStatuses(t *testing.T) {
	s, err := ParseStatuses(" 200, 3XX ,204")
	if err != nil {
		t.Fatal(err)
	}
	for code, want := range map[int]bool{200: true, 204: true, 301: true, 399: true, 201: false, 404: false} {
		if s.Has(code) != want {
			t.Errorf("Has(%d) = %v", code, !want)
		}
	}
	if s.String() != "200,3xx,204" {
		t.Errorf("String() = %q", s)
	}
	for _, bad := range []string{"", "abc", "99", "600", "6xx", "2x"} {
		if _, err := ParseStatuses(bad); err == nil {
			t.Errorf("ParseStatuses(%q) accepted", bad)
		}
	}
}
