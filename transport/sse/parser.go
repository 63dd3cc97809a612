package sse

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/rtbench/rtbench/transport/internal/netpoll"
)

// Defaults for ParserOptions.
const (
	DefaultMaxLine  = 1 << 20 // bytes of one line
	DefaultMaxEvent = 1 << 20 // bytes of one event's data
	DefaultReadSize = 4 << 10 // initial read buffer
)

// ParserOptions configures a Parser. The zero value gives the defaults.
type ParserOptions struct {
	// MaxLine bounds one line, without its line end. Default DefaultMaxLine
	// (1 MiB). A longer line stops the parser with a *LimitError matching
	// ErrLineTooLong.
	MaxLine int
	// MaxEvent bounds the data of one event: its data lines joined with LF,
	// after U+FFFD replacement. Default DefaultMaxEvent (1 MiB). More stops
	// the parser with a *LimitError matching ErrEventTooLarge.
	MaxEvent int
	// ReadSize is the size of the read buffer while lines fit in it. Default
	// DefaultReadSize (4 KiB). The buffer grows, up to MaxLine+1 bytes, only
	// to hold one longer line.
	ReadSize int
	// BusyReadSize, when larger than ReadSize, lets the read buffer double
	// (up to it) each time a read fills all the room it had: the stream is
	// ahead of the reader, and larger reads take several events per system
	// call. A stream read as fast as it comes never fills it, and keeps
	// ReadSize. The buffer does not shrink back.
	BusyReadSize int
	// Now is the clock, called once after each Read that returns bytes and
	// once per dispatched event. Default time.Now.
	Now func() time.Time
	// OnLine, when set, is called for every complete line, comments and
	// blank lines included, so a caller can reset an idle timer on any
	// traffic that is not an event (": ping" keep-alives).
	OnLine func()
	// Comments, when set, makes Next return each comment line as an Event
	// with Comment set (Data: the text after the colon, one leading space
	// removed), in stream order between the events. Off by default: a
	// comment is then only traffic (OnLine).
	Comments bool
	// Raise names, in a LimitError's message, what a person changes to
	// raise MaxLine and MaxEvent: a command sets its flag ("--max-event").
	// Default: the option itself, ParserOptions.MaxLine or .MaxEvent.
	Raise string
	// NoEventIDs leaves Event.ID empty. The last event ID is still kept
	// (as bytes) and LastEventID builds its string when asked, to resume.
	// For a reader that never looks at IDs (the load engine): a stream that
	// numbers its events gives each one a new ID, and interning them is
	// then the parser's one steady allocation (a 512-byte chunk per ~70
	// events, garbage that grows a held session's heap to the collector's
	// goal).
	NoEventIDs bool
}

// Event is one dispatched event.
type Event struct {
	ID   string // the last event ID when the event was dispatched (it persists across events)
	Type string // the event type; "message" when the block set none
	// Data is the event's data lines joined with LF. It aliases the
	// parser's buffer and is valid only until the next call to Next; copy it
	// to keep it.
	Data []byte
	// Retry is the reconnection time set by a valid retry field in this
	// event's block, when HasRetry. The parser does not clamp it.
	Retry    time.Duration
	HasRetry bool
	// FirstByte is when the first byte of this event's block was read: the
	// time of the Read that returned the first byte of its first line that
	// is not a comment, so a keep-alive comment that arrived earlier does not
	// count towards the event's latency.
	FirstByte time.Time
	// Dispatched is when the blank line that dispatched it was parsed.
	Dispatched time.Time
	// Size is the bytes the event's block took on the wire: from its first
	// line that is not a comment through the blank line that dispatched it,
	// line ends (and comments inside the block) included. The LF of a CRLF
	// blank line counts only when it arrived in the same read as its CR.
	Size int
	// Comment: this is a comment line, not a dispatched event
	// (ParserOptions.Comments); ID, Type and Retry are unset.
	Comment bool
}

// ErrLineTooLong and ErrEventTooLarge are matched, with errors.Is, by the
// *LimitError a Parser returns when a cap is exceeded.
var (
	ErrLineTooLong   = errors.New("sse: line too long")
	ErrEventTooLarge = errors.New("sse: event too large")
)

// LimitError reports a cap exceeded by the stream. The parser stops at it.
type LimitError struct {
	What  string // "line" or "event"
	Limit int    // the cap, in bytes
	Raise string // what raises the cap (ParserOptions.Raise); "" names the option
}

func (e *LimitError) Error() string {
	if e.What == "line" {
		return "sse: line longer than " + strconv.Itoa(e.Limit) + " bytes (raise " + orDefault(e.Raise, "ParserOptions.MaxLine") + ")"
	}
	return "sse: event data larger than " + strconv.Itoa(e.Limit) + " bytes (raise " + orDefault(e.Raise, "ParserOptions.MaxEvent") + ")"
}

func orDefault(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

// Unwrap returns ErrLineTooLong or ErrEventTooLarge.
func (e *LimitError) Unwrap() error {
	if e.What == "line" {
		return ErrLineTooLong
	}
	return ErrEventTooLarge
}

// maxEmptyReads is how many (0, nil) reads in a row end the stream with
// io.ErrNoProgress, as in bufio.
const maxEmptyReads = 100

// Interned strings (IDs and event types) are carved from chunks, so a stream
// whose every event carries a new ID allocates once per chunk, not once per
// event. The first chunk is small and each next one doubles, up to
// arenaChunk. A held session keeps its current chunk (and the one its last
// ID points into) for as long as it lives, so arenaChunk is what a
// long-lived session of ever-new IDs ends up holding: with 4 KiB chunks, a
// 10-minute soak of 10,000 sessions saw the live heap climb 40 MiB as the
// chunks doubled; at 512 bytes a 7-byte ID still allocates only once per ~70
// events. Longer values get a string of their own.
const (
	arenaFirst  = 64
	arenaChunk  = 512
	maxInterned = 256
)

var bom = []byte("\uFEFF")

// Parser reads an event stream (WHATWG HTML §9.2) from an io.Reader with its
// own buffer. It is not safe for concurrent use.
//
// The stream is decoded as UTF-8 whatever its declared charset: one leading
// BOM is stripped, and every maximal ill-formed subsequence in the value of a
// data, event or id field is replaced with U+FFFD, as the WHATWG decoder does
// (see InvalidUTF8). NUL bytes are kept. Lines end at CR, LF or CRLF, also
// when the CR and the LF arrive in different reads.
//
// Memory is bounded by the options: the read buffer never exceeds
// max(ReadSize, MaxLine+1) bytes and the data buffer MaxEvent+1 bytes.
type Parser struct {
	rd       io.Reader
	maxLine  int
	maxEvent int
	readSize int
	busySize int
	now      func() time.Time
	onLine   func()
	comments bool
	raise    string
	noIDs    bool

	ev         Event // the last event next returned
	buf        []byte
	start, end int   // buf[start:end] is buffered and not yet parsed
	base       int64 // stream offset of buf[0], for Event.Size
	scanned    int   // bytes of buf[start:end] known to hold no line end
	skipLF     bool  // the last line ended with CR: an LF next is part of it
	busy       bool  // the last read filled all the room in buf
	sawFirst   bool  // the first line (which may carry the BOM) was seen
	rerr       error
	err        error

	readAt time.Time // time of the last Read that returned bytes
	lineAt time.Time // time of the Read that returned the current line's first byte

	inBlock    bool
	blockAt    time.Time
	blockOff   int64 // stream offset of the block's first line
	blockRetry bool
	data       []byte
	typ        []byte
	typStr     string
	idBuf      []byte
	lastID     string
	lastIDb    []byte // NoEventIDs: the last event ID; lastID is its string when !idStale
	idStale    bool
	retry      time.Duration
	hasRetry   bool

	arena     []byte
	invalid   int
	truncated bool
}

// NewParser returns a parser reading the event stream from r.
func NewParser(r io.Reader, opts ParserOptions) *Parser {
	if opts.MaxLine <= 0 {
		opts.MaxLine = DefaultMaxLine
	}
	if opts.MaxEvent <= 0 {
		opts.MaxEvent = DefaultMaxEvent
	}
	if opts.ReadSize <= 0 {
		opts.ReadSize = DefaultReadSize
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Parser{
		rd:       r,
		maxLine:  opts.MaxLine,
		maxEvent: opts.MaxEvent,
		readSize: opts.ReadSize,
		busySize: opts.BusyReadSize,
		now:      opts.Now,
		onLine:   opts.OnLine,
		comments: opts.Comments,
		raise:    opts.Raise,
		noIDs:    opts.NoEventIDs,
	}
}

// Reset makes p parse a new stream from r (a reconnection), keeping its
// buffers. The last event ID, the reconnection time and the InvalidUTF8 count
// carry over, as they belong to the event source rather than to one stream;
// everything else, Truncated included, starts afresh.
func (p *Parser) Reset(r io.Reader) {
	p.rd = r
	p.start, p.end, p.scanned, p.base = 0, 0, 0, 0
	p.skipLF, p.sawFirst = false, false
	p.rerr, p.err = nil, nil
	p.inBlock, p.blockRetry = false, false
	p.data = p.data[:0]
	p.typ = p.typ[:0]
	if p.noIDs {
		p.idBuf = append(p.idBuf[:0], p.lastIDb...)
	} else {
		p.idBuf = append(p.idBuf[:0], p.lastID...)
	}
	p.truncated = false
}

// LastEventID returns the event source's last event ID: the value of the last
// valid id field of a block that was ended by a blank line, whether or not the
// block dispatched an event. It persists across events and is "" after an
// empty id.
func (p *Parser) LastEventID() string {
	if p.idStale {
		p.lastID, p.idStale = string(p.lastIDb), false
	}
	return p.lastID
}

// SetLastEventID sets the last event ID as if a block carrying it had been
// dispatched: the ID a resumed event source starts from. Events carry it until
// the stream sets another.
func (p *Parser) SetLastEventID(id string) {
	p.lastID, p.idStale = id, false
	p.idBuf = append(p.idBuf[:0], id...)
	if p.noIDs {
		p.lastIDb = append(p.lastIDb[:0], id...)
	}
}

// Retry returns the reconnection time of the last valid retry field, if any.
// It takes effect as soon as the field is parsed, even in a block that is
// never dispatched. Values too large for a time.Duration saturate.
func (p *Parser) Retry() (time.Duration, bool) { return p.retry, p.hasRetry }

// InvalidUTF8 returns how many ill-formed UTF-8 sequences have been replaced
// with U+FFFD in the values of data, event and id fields since NewParser.
func (p *Parser) InvalidUTF8() int { return p.invalid }

// Truncated reports whether the stream ended (EOF or a read error) while an
// event was pending: data lines not yet dispatched by a blank line, or an
// unterminated line that is not a comment. The pending event was discarded,
// as the specification requires.
func (p *Parser) Truncated() bool { return p.truncated }

// Next returns the next dispatched event. At the end of the stream it returns
// io.EOF, or the reader's error; past a cap it returns a *LimitError. Errors
// are sticky: every later call returns the same one, but for
// netpoll.ErrWouldBlock from a reader that never waits, which says to call
// again once the connection has bytes.
func (p *Parser) Next() (Event, error) {
	ev, err := p.next()
	if err != nil {
		return Event{}, err
	}
	return *ev, nil
}

// next is Next with the event returned in place: it is valid until the
// next call. A held session waits in it, so its frame is kept small (no
// Event copied on the way).
func (p *Parser) next() (*Event, error) {
	if p.err != nil {
		return nil, p.err
	}
	for {
		for p.start < p.end {
			if p.skipLF {
				p.skipLF = false
				if p.buf[p.start] == '\n' {
					p.start++
					continue
				}
			}
			i := lineEnd(p.buf[p.start+p.scanned : p.end])
			if i < 0 {
				p.scanned = p.end - p.start
				break
			}
			n := p.scanned + i
			off := p.base + int64(p.start)
			line := p.buf[p.start : p.start+n]
			p.skipLF = p.buf[p.start+n] == '\r'
			p.start += n + 1
			p.scanned = 0
			at := p.lineAt
			// Whatever follows a complete line came with the latest read.
			p.lineAt = p.readAt
			if n > p.maxLine {
				return p.fail(&LimitError{What: "line", Limit: p.maxLine, Raise: p.raise})
			}
			if ok, err := p.parseLine(line, at, off); err != nil {
				return p.fail(err)
			} else if ok {
				return &p.ev, nil
			}
		}
		if p.end-p.start > p.maxLine {
			return p.fail(&LimitError{What: "line", Limit: p.maxLine, Raise: p.raise})
		}
		if p.rerr != nil {
			return p.finish()
		}
		if p.fill() {
			return nil, netpoll.ErrWouldBlock
		}
	}
}

func (p *Parser) fail(err error) (*Event, error) {
	p.err = err
	return nil, err
}

// finish ends the stream: whatever is pending is discarded.
func (p *Parser) finish() (*Event, error) {
	partial := p.buf[p.start:p.end]
	if !p.sawFirst {
		partial = bytes.TrimPrefix(partial, bom)
	}
	p.truncated = len(p.data) > 0 || (len(partial) > 0 && partial[0] != ':')
	p.start, p.end = 0, 0
	p.data = p.data[:0]
	p.typ = p.typ[:0]
	p.inBlock, p.blockRetry = false, false
	return p.fail(p.rerr)
}

// fill reads more bytes after the unparsed tail of the buffer, compacting or
// growing the buffer first. It reports a read that would have had to wait
// (netpoll.ErrWouldBlock, from a reader that never waits): next returns that
// error, which is not sticky, and the next call reads on where it stopped.
func (p *Parser) fill() (wouldBlock bool) {
	if p.buf == nil {
		p.buf = make([]byte, p.readSize)
	}
	if p.start > 0 {
		p.base += int64(p.start)
		p.end = copy(p.buf, p.buf[p.start:p.end])
		p.start = 0
	}
	switch {
	case p.end == len(p.buf):
		// One line longer than the buffer: grow towards MaxLine+1, enough
		// to see the line end of a line of MaxLine bytes.
		p.growTo(max(min(2*len(p.buf), p.maxLine+1), len(p.buf)+1))
	case p.busy && len(p.buf) < p.busySize:
		p.growTo(min(2*len(p.buf), p.busySize))
	}
	p.busy = false
	newLine := p.end == 0
	for range maxEmptyReads {
		n, err := p.rd.Read(p.buf[p.end:])
		if n < 0 || n > len(p.buf)-p.end {
			p.rerr = errors.New("sse: reader returned an invalid count")
			return false
		}
		if n > 0 {
			p.readAt = p.now()
			if newLine {
				p.lineAt = p.readAt
			}
			p.busy = p.end+n == len(p.buf)
			p.end += n
		}
		if err == netpoll.ErrWouldBlock {
			return n == 0
		}
		if err != nil {
			p.rerr = err
			return false
		}
		if n > 0 {
			return false
		}
	}
	p.rerr = io.ErrNoProgress
	return false
}

// growTo replaces the read buffer with one of n bytes holding what it held.
func (p *Parser) growTo(n int) {
	buf := make([]byte, n)
	copy(buf, p.buf[:p.end])
	p.buf = buf
}

// lineEnd returns the index of the first CR or LF in b, or -1.
func lineEnd(b []byte) int {
	lf := bytes.IndexByte(b, '\n')
	if lf < 0 {
		return bytes.IndexByte(b, '\r')
	}
	if cr := bytes.IndexByte(b[:lf], '\r'); cr >= 0 {
		return cr
	}
	return lf
}

// parseLine processes one line (without its line end) that began in the read
// made at time at, at stream offset off. ok reports a dispatched event, in
// p.ev.
func (p *Parser) parseLine(line []byte, at time.Time, off int64) (ok bool, err error) {
	if !p.sawFirst {
		p.sawFirst = true
		line = bytes.TrimPrefix(line, bom)
	}
	if p.onLine != nil {
		p.onLine()
	}
	if len(line) == 0 {
		return p.dispatch()
	}
	if line[0] == ':' {
		if !p.comments {
			return false, nil
		}
		text := line[1:]
		if len(text) > 0 && text[0] == ' ' {
			text = text[1:]
		}
		p.ev = Event{Data: text, Comment: true, FirstByte: at, Dispatched: at, Size: len(line) + 1}
		return true, nil
	}
	if !p.inBlock {
		p.inBlock = true
		p.blockAt = at
		p.blockOff = off
	}
	name, value := line, line[len(line):]
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	// A colon, a space, CR and LF are ASCII, so splitting the raw bytes
	// gives the same fields as decoding first; the names that matter are
	// ASCII, so an ill-formed name is simply unknown.
	switch string(name) {
	case "data":
		valid := utf8.Valid(value)
		n := len(value)
		if !valid {
			n = fixedLen(value)
		}
		if len(p.data)+n > p.maxEvent {
			return false, &LimitError{What: "event", Limit: p.maxEvent, Raise: p.raise}
		}
		p.data = grow(p.data, n+1, p.maxEvent+1)
		if valid {
			p.data = append(p.data, value...)
		} else {
			var bad int
			p.data, bad = appendFixed(p.data, value)
			p.invalid += bad
		}
		p.data = append(p.data, '\n')
	case "event":
		p.typ = p.appendText(p.typ[:0], value)
	case "id":
		if bytes.IndexByte(value, 0) < 0 {
			p.idBuf = p.appendText(p.idBuf[:0], value)
		}
	case "retry":
		if d, ok := parseRetry(value); ok {
			p.retry, p.hasRetry, p.blockRetry = d, true, true
		}
	}
	return false, nil
}

// dispatch ends the current block at a blank line; ok reports an event, in
// p.ev.
func (p *Parser) dispatch() (ok bool, err error) {
	blockRetry := p.blockRetry
	p.inBlock, p.blockRetry = false, false
	switch {
	case p.noIDs:
		if string(p.idBuf) != string(p.lastIDb) {
			p.lastIDb = append(p.lastIDb[:0], p.idBuf...)
			p.idStale = true
		}
	case string(p.idBuf) != p.lastID:
		p.lastID = p.intern(p.idBuf)
	}
	if len(p.data) == 0 {
		p.typ = p.typ[:0]
		return false, nil
	}
	end := p.base + int64(p.start)
	if p.skipLF && p.start < p.end && p.buf[p.start] == '\n' {
		end++
	}
	id := p.lastID
	if p.noIDs {
		id = ""
	}
	p.ev = Event{
		ID:         id,
		Type:       "message",
		Data:       p.data[:len(p.data)-1],
		FirstByte:  p.blockAt,
		Dispatched: p.now(),
		Size:       int(end - p.blockOff),
	}
	if len(p.typ) > 0 {
		if string(p.typ) != p.typStr {
			p.typStr = p.intern(p.typ)
		}
		p.ev.Type = p.typStr
	}
	if blockRetry {
		p.ev.Retry, p.ev.HasRetry = p.retry, true
	}
	// The bytes stay in place until the next call appends over them.
	p.data = p.data[:0]
	p.typ = p.typ[:0]
	return true, nil
}

// appendText appends an event or id value, replacing ill-formed UTF-8.
func (p *Parser) appendText(dst, v []byte) []byte {
	if utf8.Valid(v) {
		return append(dst, v...)
	}
	dst, bad := appendFixed(dst, v)
	p.invalid += bad
	return dst
}

// intern returns b as a string without allocating for most values: short
// strings are copied into an append-only arena that is never written over,
// so the strings it backs stay immutable.
func (p *Parser) intern(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > maxInterned {
		return string(b)
	}
	if cap(p.arena)-len(p.arena) < len(b) {
		p.arena = make([]byte, 0, max(min(2*cap(p.arena), arenaChunk), arenaFirst, len(b)))
	}
	i := len(p.arena)
	p.arena = append(p.arena, b...)
	return unsafe.String(&p.arena[i], len(b))
}

// grow returns b with room for n more bytes, never with a capacity above
// limit (the caller has checked that len(b)+n <= limit).
func grow(b []byte, n, limit int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	c := min(max(2*cap(b), len(b)+n, 256), limit)
	nb := make([]byte, len(b), c)
	copy(nb, b)
	return nb
}

// parseRetry parses a retry value: ASCII digits only, at least one, in
// milliseconds. Huge values saturate at the largest time.Duration.
func parseRetry(v []byte) (time.Duration, bool) {
	if len(v) == 0 {
		return 0, false
	}
	const maxMS = math.MaxInt64 / int64(time.Millisecond)
	var ms int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		if ms <= maxMS {
			ms = ms*10 + int64(c-'0')
		}
	}
	if ms > maxMS {
		return math.MaxInt64, true
	}
	return time.Duration(ms) * time.Millisecond, true
}

const replacement = "\uFFFD"

// appendFixed appends b to dst with each maximal ill-formed subsequence
// replaced by U+FFFD, and returns the number of replacements.
func appendFixed(dst, b []byte) ([]byte, int) {
	bad := 0
	for i := 0; i < len(b); {
		if c := b[i]; c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, replacement...)
			i += illFormedLen(b[i:])
			bad++
			continue
		}
		dst = append(dst, b[i:i+size]...)
		i += size
	}
	return dst, bad
}

// fixedLen returns the length of b once appendFixed has replaced its
// ill-formed sequences.
func fixedLen(b []byte) int {
	n := 0
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			n++
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			n += len(replacement)
			i += illFormedLen(b[i:])
			continue
		}
		n += size
		i += size
	}
	return n
}

// illFormedLen returns the length of the maximal ill-formed subsequence at
// the start of b (which does not start with a valid sequence): a valid lead
// byte and the continuation bytes that still fit it, or a single byte. This
// is what the WHATWG UTF-8 decoder turns into one U+FFFD.
func illFormedLen(b []byte) int {
	lo, hi := byte(0x80), byte(0xBF)
	need := 0
	switch c := b[0]; {
	case c >= 0xC2 && c <= 0xDF:
		return 1 // its one continuation byte is missing or wrong
	case c == 0xE0:
		lo, need = 0xA0, 2
	case c == 0xED:
		hi, need = 0x9F, 2
	case c >= 0xE1 && c <= 0xEF:
		need = 2
	case c == 0xF0:
		lo, need = 0x90, 3
	case c == 0xF4:
		hi, need = 0x8F, 3
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	default:
		return 1
	}
	n := 1
	for n < need && n < len(b) && b[n] >= lo && b[n] <= hi {
		lo, hi = 0x80, 0xBF
		n++
	}
	return n
}
