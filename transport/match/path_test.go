package match

import "testing"

func TestPathValue(t *testing.T) {
	doc := []byte(`{"id":"job_1","data":{"token":"t\u00e9k","n":42,"ok":true,"nil":null},"items":[{"id":7}]}`)
	tests := []struct {
		path, want string
		ok         bool
	}{
		{"id", "job_1", true},
		{"data.token", "ték", true},
		{"data.n", "42", true},
		{"data.ok", "true", true},
		{"data.nil", "", false},
		{"data.missing", "", false},
		{"items[0].id", "7", true},
		{"items[1].id", "", false},
		{"data", `{"token":"t\u00e9k","n":42,"ok":true,"nil":null}`, true},
	}
	for _, tt := range tests {
		p, err := ParsePath(tt.path)
		if err != nil {
			t.Fatalf("ParsePath(%q): %v", tt.path, err)
		}
		got, ok := p.Value(doc)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: got %q %v, want %q %v", tt.path, got, ok, tt.want, tt.ok)
		}
	}
	if _, ok := MustPath(t, "id").Value([]byte(`{"id":`)); ok {
		t.Error("invalid JSON gave a value")
	}
	for _, bad := range []string{"", "a..b", "a b", "a==1"} {
		if _, err := ParsePath(bad); err == nil {
			t.Errorf("ParsePath(%q): no error", bad)
		}
	}
}

func MustPath(t *testing.T, s string) *Path {
	p, err := ParsePath(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
