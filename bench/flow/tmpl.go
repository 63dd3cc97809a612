package flow

import (
	"strings"
)

// tmpl is a string with ${var} references to the session's variables,
// split once at parse time.
type tmpl struct {
	parts []tpart
	vars  bool // some part is a variable
}

type tpart struct {
	lit  string
	slot int // -1: lit
}

// render appends t with the session's values.
func (t *tmpl) render(vals []string) string {
	if !t.vars {
		if len(t.parts) == 0 {
			return ""
		}
		return t.parts[0].lit
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.slot < 0 {
			b.WriteString(p.lit)
		} else {
			b.WriteString(vals[p.slot])
		}
	}
	return b.String()
}

func (t *tmpl) empty() bool { return len(t.parts) == 0 }

// isName says whether s is a variable name: letters, digits and _, not
// starting with a digit.
func isName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
