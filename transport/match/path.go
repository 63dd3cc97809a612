package match

import (
	"encoding/json"
	"strings"
)

// Path is a path into a JSON document (data.token, items[0].id), in the
// grammar's path syntax: what `capture` reads a value with.
type Path struct {
	in   string
	segs []seg
}

// ParsePath reads a path. Errors are *SyntaxError.
func ParsePath(path string) (*Path, error) {
	p := &parser{in: strings.TrimSpace(path)}
	if p.in == "" {
		return nil, p.fail(0, "empty path; want a field such as id or data.token")
	}
	segs, err := p.path()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.in) {
		return nil, p.fail(p.pos, "want the end of the path")
	}
	return &Path{in: p.in, segs: segs}, nil
}

func (p *Path) String() string { return p.in }

// Value returns the value at the path in doc: a string's text, or the raw
// JSON of any other value (42, true, {"a":1}). ok is false when doc is not
// valid JSON, has no such field, or the field is null.
func (p *Path) Value(doc []byte) (v string, ok bool) {
	if !json.Valid(doc) {
		return "", false
	}
	raw, ok := lookup(doc, p.segs)
	if !ok || string(raw) == "null" {
		return "", false
	}
	if raw[0] == '"' {
		t, isText := text(raw)
		return string(t), isText
	}
	return string(raw), true
}
