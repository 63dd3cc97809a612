package jsonskip

import "testing"

func TestValue(t *testing.T) {
	tests := []struct {
		in   string
		at   int
		want string
	}{
		{`{"a":1,"b":[1,{"c":"]}"}]}`, 0, `{"a":1,"b":[1,{"c":"]}"}]}`},
		{`"x\"y" , 2`, 0, `"x\"y"`},
		{`123, 4`, 0, `123`},
		{`[true,false] `, 0, `[true,false]`},
		{`{"k": null}`, 6, `null`},
		{`{"k": "v\\"}`, 6, `"v\\"`},
	}
	for _, tt := range tests {
		if got := tt.in[tt.at:Value([]byte(tt.in), tt.at)]; got != tt.want {
			t.Errorf("Value(%q, %d) = %q, want %q", tt.in, tt.at, got, tt.want)
		}
	}
	if got := Space([]byte(" \t\r\nx"), 0); got != 4 {
		t.Errorf("Space = %d, want 4", got)
	}
	// Malformed input stays in bounds.
	for _, bad := range []string{`"unterminated`, `{"a":[1,2`, `\`, ``} {
		if got := Value([]byte(bad), 0); got > len(bad) {
			t.Errorf("Value(%q) = %d, beyond the input", bad, got)
		}
	}
}
