package transport

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SendHelp documents the --send templates, for the commands' help.
const SendHelp = `--send MSG is sent first on every connection, in order (repeatable): WebSocket
messages once the connection is open (and again after each reconnect); over HTTP
(SSE, polling) the first lines of the request body, before --data. --send @FILE sends
the file's contents (one trailing newline dropped). Templates, rendered for each
session and message: {{session}} the session's number in the run (from 0),
{{seq}} the message's number in its session (from 1, counting every connection),
{{now_ns}} the send time in ns since the epoch, {{uuid}} a random UUID (v4),
{{env "NAME"}} an environment variable (unset is an error), {{"{{"}} a literal {{.`

// SendTemplate is one --send message: text with {{...}} actions (SendHelp),
// parsed once. The zero value is an empty message.
type SendTemplate struct {
	src   string
	parts []sendPart
}

type sendKind uint8

const (
	sendText sendKind = iota
	sendSession
	sendSeq
	sendNowNS
	sendUUID
)

type sendPart struct {
	kind sendKind
	text string // sendText
}

// String is the template as it was given.
func (t *SendTemplate) String() string { return t.src }

// ParseSendTemplate parses one --send message. getenv resolves {{env
// "NAME"}} now, once: a variable that is not set is an error, so that a
// missing token is not sent as an empty string. Errors quote the action.
func ParseSendTemplate(s string, getenv func(string) (string, bool)) (*SendTemplate, error) {
	t := &SendTemplate{src: s}
	rest := s
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			t.text(rest)
			return t, nil
		}
		t.text(rest[:i])
		rest = rest[i+2:]
		j := strings.Index(rest, "}}")
		if j < 0 {
			return nil, fmt.Errorf("%q: {{ without a closing }}; write {{\"{{\"}} for a literal {{", "{{"+short(rest))
		}
		action := strings.TrimSpace(rest[:j])
		rest = rest[j+2:]
		if err := t.action(action, getenv); err != nil {
			return nil, err
		}
	}
}

func short(s string) string {
	if len(s) > 20 {
		return s[:20] + "…"
	}
	return s
}

func (t *SendTemplate) text(s string) {
	if s == "" {
		return
	}
	if n := len(t.parts); n > 0 && t.parts[n-1].kind == sendText {
		t.parts[n-1].text += s
		return
	}
	t.parts = append(t.parts, sendPart{kind: sendText, text: s})
}

var sendActions = map[string]sendKind{"session": sendSession, "seq": sendSeq, "now_ns": sendNowNS, "uuid": sendUUID}

func (t *SendTemplate) action(a string, getenv func(string) (string, bool)) error {
	if k, ok := sendActions[a]; ok {
		t.parts = append(t.parts, sendPart{kind: k})
		return nil
	}
	if lit, err := strconv.Unquote(a); err == nil && strings.HasPrefix(a, `"`) {
		t.text(lit)
		return nil
	}
	if arg, ok := strings.CutPrefix(a, "env"); ok && (arg == "" || arg[0] == ' ' || arg[0] == '\t') {
		name, err := strconv.Unquote(strings.TrimSpace(arg))
		if err != nil || name == "" {
			return fmt.Errorf("{{%s}}: want {{env \"NAME\"}}, the variable's name in double quotes", a)
		}
		v, ok := getenv(name)
		if !ok {
			return fmt.Errorf("{{env %q}}: %s is not set", name, name)
		}
		t.text(v)
		return nil
	}
	return fmt.Errorf("{{%s}}: unknown; want {{session}}, {{seq}}, {{now_ns}}, {{uuid}}, {{env \"NAME\"}} or {{\"{{\"}}", short(a))
}

// Append renders the template for one message onto dst.
func (t *SendTemplate) Append(dst []byte, session int, seq int64, now time.Time) []byte {
	for _, p := range t.parts {
		switch p.kind {
		case sendText:
			dst = append(dst, p.text...)
		case sendSession:
			dst = strconv.AppendInt(dst, int64(session), 10)
		case sendSeq:
			dst = strconv.AppendInt(dst, seq, 10)
		case sendNowNS:
			dst = strconv.AppendInt(dst, now.UnixNano(), 10)
		case sendUUID:
			dst = appendUUID(dst)
		}
	}
	return dst
}

// appendUUID appends a random RFC 9562 version 4 UUID.
func appendUUID(dst []byte) []byte {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return append(dst, s[:]...)
}

// Sender renders one session's --send messages. Each connection of the
// session calls Messages once it is open; {{seq}} numbers every message
// the session sends, across its connections. Safe for concurrent use; a
// nil *Sender sends nothing.
type Sender struct {
	templates []*SendTemplate
	session   int
	mu        sync.Mutex
	seq       int64
}

// NewSender is the sender of session number session; nil when there are no
// templates.
func NewSender(templates []*SendTemplate, session int) *Sender {
	if len(templates) == 0 {
		return nil
	}
	return &Sender{templates: templates, session: session}
}

// ForSession is a fresh sender of the same messages for another session
// (its own {{session}} and {{seq}}); nil for nil.
func (s *Sender) ForSession(n int) *Sender {
	if s == nil {
		return nil
	}
	return NewSender(s.templates, n)
}

// Len is the number of messages each connection sends.
func (s *Sender) Len() int {
	if s == nil {
		return 0
	}
	return len(s.templates)
}

// Messages renders the messages of one connection, in order.
func (s *Sender) Messages() [][]byte {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	first := s.seq + 1
	s.seq += int64(len(s.templates))
	s.mu.Unlock()
	now := time.Now()
	out := make([][]byte, len(s.templates))
	for i, t := range s.templates {
		out[i] = t.Append(nil, s.session, first+int64(i), now)
	}
	return out
}

// Lines renders the messages of one HTTP request as the first lines of its
// body: each message followed by a newline.
func (s *Sender) Lines() []byte {
	var b []byte
	for _, m := range s.Messages() {
		b = append(append(b, m...), '\n')
	}
	return b
}
