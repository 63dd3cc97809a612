package match

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Expr is a parsed expression: conditions that must all hold. It is safe for
// concurrent use.
type Expr struct {
	conds []cond
}

// op is a condition's operator.
type op uint8

const (
	opTruthy op = iota // a path alone
	opEq
	opNe
	opLt
	opLe
	opGt
	opGe
	opRe
)

// ops lists the operators, two-character ones first so "<=" is not read as
// "<" followed by "=".
var ops = [...]struct {
	text string
	op   op
}{{"==", opEq}, {"!=", opNe}, {"<=", opLe}, {">=", opGe}, {"=~", opRe}, {"<", opLt}, {">", opGt}}

func (o op) String() string {
	for _, x := range ops {
		if x.op == o {
			return x.text
		}
	}
	return ""
}

// seg is one step of a path: an object key or an array index.
type seg struct {
	key     string
	index   int
	isIndex bool
}

// kind is the type of a literal value.
type kind uint8

const (
	kindNumber kind = iota
	kindString
	kindTrue
	kindFalse
	kindNull
)

// value is a condition's literal.
type value struct {
	kind  kind
	str   string  // kindString: the string; kindNumber: the literal as written
	f     float64 // kindNumber
	i     int64   // kindNumber when isInt
	isInt bool    // an integer literal that fits int64
}

type cond struct {
	path []seg
	op   op
	val  value
	re   *regexp.Regexp // opRe
}

// SyntaxError is a Parse error: the input, the byte offset of the problem
// and what was wanted there.
type SyntaxError struct {
	// Flag names the expression in the message, e.g. "--until"; empty:
	// "expression". The caller sets it.
	Flag  string
	Input string
	Pos   int // byte offset in Input
	Msg   string
}

func (e *SyntaxError) Error() string {
	what := e.Flag
	if what == "" {
		what = "expression"
	}
	return fmt.Sprintf("bad %s %q: at %d: %s", what, e.Input, e.Pos, e.Msg)
}

const wantOp = "want an operator (==, !=, <, <=, >, >=, =~)"

type parser struct {
	in  string
	pos int
}

func (p *parser) fail(pos int, format string, args ...any) error {
	return &SyntaxError{Input: p.in, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) space() {
	for p.pos < len(p.in) {
		switch p.in[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) rest() string { return p.in[p.pos:] }

// Parse reads an expression (see the package documentation for the grammar).
// Errors are *SyntaxError.
func Parse(expr string) (*Expr, error) {
	p := &parser{in: expr}
	if !utf8.ValidString(expr) {
		for i, r := range expr {
			if r == utf8.RuneError {
				if _, n := utf8.DecodeRuneInString(expr[i:]); n == 1 {
					return nil, p.fail(i, "invalid UTF-8")
				}
			}
		}
	}
	p.space()
	if p.pos == len(p.in) {
		return nil, p.fail(p.pos, "empty expression; want a condition like status==completed")
	}
	e := &Expr{}
	for {
		c, err := p.cond()
		if err != nil {
			return nil, err
		}
		e.conds = append(e.conds, c)
		p.space()
		if p.pos == len(p.in) {
			return e, nil
		}
		if !strings.HasPrefix(p.rest(), "&&") {
			return nil, p.fail(p.pos, "want && or the end of the expression")
		}
		p.pos += 2
		p.space()
		if p.pos == len(p.in) {
			return nil, p.fail(p.pos, "want a condition after &&")
		}
	}
}

// MustParse is Parse for expressions known to be valid; it panics on error.
func MustParse(expr string) *Expr {
	e, err := Parse(expr)
	if err != nil {
		panic(err)
	}
	return e
}

func (p *parser) cond() (cond, error) {
	var c cond
	var err error
	if c.path, err = p.path(); err != nil {
		return c, err
	}
	p.space()
	if p.pos == len(p.in) || strings.HasPrefix(p.rest(), "&&") {
		return c, nil // exists and is truthy
	}
	at := p.pos
	for _, o := range ops {
		if strings.HasPrefix(p.rest(), o.text) {
			c.op = o.op
			p.pos += len(o.text)
			break
		}
	}
	if c.op == opTruthy {
		return c, p.fail(at, wantOp)
	}
	p.space()
	vpos := p.pos
	if c.op == opRe {
		pat, err := p.pattern()
		if err != nil {
			return c, err
		}
		if c.re, err = regexp.Compile(pat); err != nil {
			return c, p.fail(vpos, "bad regular expression: %v", err)
		}
		c.val = value{kind: kindString, str: pat}
		return c, nil
	}
	if c.val, err = p.value(); err != nil {
		return c, err
	}
	if c.op >= opLt && c.op <= opGe && c.val.kind != kindNumber {
		return c, p.fail(vpos, "%s compares numbers; want a number", c.op)
	}
	return c, nil
}

func isNameRune(r rune) bool {
	switch {
	case r < utf8.RuneSelf:
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			r == '_' || r == '-' || r == '$' || r == '@'
	case r == utf8.RuneError:
		return false
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// name reads a run of name runes; empty when there is none.
func (p *parser) name() string {
	start := p.pos
	for p.pos < len(p.in) {
		r, n := utf8.DecodeRuneInString(p.rest())
		if !isNameRune(r) {
			break
		}
		p.pos += n
	}
	return p.in[start:p.pos]
}

func (p *parser) path() ([]seg, error) {
	var path []seg
	for first := true; ; first = false {
		switch {
		case p.pos < len(p.in) && p.in[p.pos] == '[':
			s, err := p.bracket()
			if err != nil {
				return nil, err
			}
			path = append(path, s)
		case first || p.pos < len(p.in) && p.in[p.pos] == '.':
			if !first {
				p.pos++
			}
			at := p.pos
			name := p.name()
			if name == "" {
				return nil, p.fail(at, "want a field name")
			}
			path = append(path, seg{key: name})
		default:
			return path, nil
		}
	}
}

// bracket reads [index] or ["key"].
func (p *parser) bracket() (seg, error) {
	p.pos++ // [
	at := p.pos
	var s seg
	switch {
	case p.pos < len(p.in) && p.in[p.pos] >= '0' && p.in[p.pos] <= '9':
		for p.pos < len(p.in) && p.in[p.pos] >= '0' && p.in[p.pos] <= '9' {
			p.pos++
		}
		n, err := strconv.Atoi(p.in[at:p.pos])
		if err != nil {
			return s, p.fail(at, "array index too large")
		}
		s = seg{index: n, isIndex: true}
	case p.pos < len(p.in) && p.in[p.pos] == '"':
		key, err := p.str()
		if err != nil {
			return s, err
		}
		s = seg{key: key}
	default:
		return s, p.fail(at, `want an array index or a quoted key inside [ ]`)
	}
	if p.pos >= len(p.in) || p.in[p.pos] != ']' {
		return s, p.fail(p.pos, "want ]")
	}
	p.pos++
	return s, nil
}

// str reads a JSON string literal.
func (p *parser) str() (string, error) {
	at := p.pos
	end := -1
	for i := p.pos + 1; i < len(p.in); i++ {
		if c := p.in[i]; c == '\\' {
			i++
		} else if c == '"' {
			end = i + 1
			break
		}
	}
	if end < 0 {
		return "", p.fail(at, "unterminated string")
	}
	var s string
	if err := json.Unmarshal([]byte(p.in[at:end]), &s); err != nil {
		return "", p.fail(at, "bad string (JSON string syntax): %s", p.in[at:end])
	}
	p.pos = end
	return s, nil
}

// isBare reports whether c may appear in a bare word: anything but blanks,
// quotes and the characters operators and brackets are made of.
func isBare(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '"', '\'', '&', '|', '=', '!', '<', '>', '(', ')', '[', ']', '{', '}':
		return false
	}
	return true
}

func (p *parser) bare() string {
	start := p.pos
	for p.pos < len(p.in) && isBare(p.in[p.pos]) {
		p.pos++
	}
	return p.in[start:p.pos]
}

const wantValue = `want a value: a number, a "string", true, false, null or a bare word`

// pattern reads the operand of =~: a string or a bare word, taken as written.
func (p *parser) pattern() (string, error) {
	if p.pos < len(p.in) && p.in[p.pos] == '"' {
		return p.str()
	}
	at := p.pos
	w := p.bare()
	if w == "" {
		return "", p.fail(at, `want a regular expression (quote it if it holds spaces, brackets or |)`)
	}
	return w, nil
}

func (p *parser) value() (value, error) {
	if p.pos < len(p.in) && p.in[p.pos] == '"' {
		s, err := p.str()
		return value{kind: kindString, str: s}, err
	}
	at := p.pos
	w := p.bare()
	switch w {
	case "":
		return value{}, p.fail(at, wantValue)
	case "true":
		return value{kind: kindTrue}, nil
	case "false":
		return value{kind: kindFalse}, nil
	case "null":
		return value{kind: kindNull}, nil
	}
	if c := w[0]; c == '-' || c >= '0' && c <= '9' {
		v, ok := number(w)
		if !ok {
			return value{}, p.fail(at, "%s is not a JSON number; quote it to compare a string: %q", w, w)
		}
		return v, nil
	}
	return value{kind: kindString, str: w}, nil
}

// number reads a JSON number literal.
func number(s string) (value, bool) {
	if !json.Valid([]byte(s)) {
		return value{}, false
	}
	v := value{kind: kindNumber, str: s}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		v.i, v.isInt, v.f = i, true, float64(i)
		return v, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !math.IsInf(f, 0) { // out of range parses to ±Inf: keep it
		return value{}, false
	}
	v.f = f
	return v, true
}

// String is the expression in canonical form: conditions joined by " && ",
// spaces around operators, strings quoted. Parse(e.String()) is e.
func (e *Expr) String() string {
	var b strings.Builder
	for i, c := range e.conds {
		if i > 0 {
			b.WriteString(" && ")
		}
		c.write(&b)
	}
	return b.String()
}

func (c *cond) write(b *strings.Builder) {
	for i, s := range c.path {
		switch {
		case s.isIndex:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.index))
			b.WriteByte(']')
		case isName(s.key):
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.key)
		default:
			b.WriteByte('[')
			b.WriteString(quote(s.key))
			b.WriteByte(']')
		}
	}
	if c.op == opTruthy {
		return
	}
	b.WriteByte(' ')
	b.WriteString(c.op.String())
	b.WriteByte(' ')
	switch c.val.kind {
	case kindNumber:
		b.WriteString(c.val.str)
	case kindString:
		b.WriteString(quote(c.val.str))
	case kindTrue:
		b.WriteString("true")
	case kindFalse:
		b.WriteString("false")
	case kindNull:
		b.WriteString("null")
	}
}

func isName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !isNameRune(r) {
			return false
		}
	}
	return true
}

// quote writes s as a JSON string, without HTML escaping.
func quote(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(s) //nolint:errcheck // a string always encodes
	return strings.TrimSuffix(buf.String(), "\n")
}
