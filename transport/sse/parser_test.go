package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport/internal/netpoll"
)

// ptEvent is an Event reduced to comparable values.
type ptEvent struct {
	ID, Type, Data string
	Retry          time.Duration
	HasRetry       bool
}

func (e ptEvent) String() string {
	s := fmt.Sprintf("{id=%q type=%q data=%q", e.ID, e.Type, e.Data)
	if e.HasRetry {
		s += " retry=" + e.Retry.String()
	}
	return s + "}"
}

func ptMsg(data string) ptEvent { return ptEvent{Type: "message", Data: data} }

// ptResult is everything observable after parsing a whole stream.
type ptResult struct {
	Events    []ptEvent
	Err       error
	LastID    string
	Retry     time.Duration
	HasRetry  bool
	Truncated bool
	Invalid   int
}

func (r ptResult) String() string {
	return fmt.Sprintf("events=%v err=%v lastID=%q retry=%v/%v truncated=%v invalid=%d",
		r.Events, r.Err, r.LastID, r.Retry, r.HasRetry, r.Truncated, r.Invalid)
}

func ptSame(a, b ptResult) bool {
	if len(a.Events) != len(b.Events) {
		return false
	}
	for i := range a.Events {
		if a.Events[i] != b.Events[i] {
			return false
		}
	}
	errSame := a.Err == b.Err || (a.Err != nil && b.Err != nil && a.Err.Error() == b.Err.Error())
	return errSame && a.LastID == b.LastID && a.Retry == b.Retry && a.HasRetry == b.HasRetry &&
		a.Truncated == b.Truncated && a.Invalid == b.Invalid
}

// ptReader returns the chunks it holds, one per Read (a chunk larger than the
// caller's buffer is split). With eofLast, the last bytes come with io.EOF.
type ptReader struct {
	chunks  [][]byte
	eofLast bool
	err     error // returned at the end instead of io.EOF
	n       int64 // bytes returned so far
}

func (r *ptReader) Read(b []byte) (int, error) {
	if len(r.chunks) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		return 0, io.EOF
	}
	n := copy(b, r.chunks[0])
	r.n += int64(n)
	if n < len(r.chunks[0]) {
		r.chunks[0] = r.chunks[0][n:]
		return n, nil
	}
	r.chunks = r.chunks[1:]
	if len(r.chunks) == 0 && r.eofLast && r.err == nil {
		return n, io.EOF
	}
	return n, nil
}

// ptParse parses the stream delivered in the given chunks to the end, checking
// after every event that the buffers stay within the caps.
func ptParse(t testing.TB, chunks [][]byte, opts ParserOptions, eofLast bool) ptResult {
	t.Helper()
	p := NewParser(&ptReader{chunks: chunks, eofLast: eofLast}, opts)
	var res ptResult
	for {
		ev, err := p.Next()
		ptCheckCaps(t, p)
		if err != nil {
			if err != io.EOF {
				res.Err = err
			}
			break
		}
		res.Events = append(res.Events, ptEvent{ev.ID, ev.Type, string(ev.Data), ev.Retry, ev.HasRetry})
		if len(res.Events) > 1<<16 {
			t.Fatal("runaway parser")
		}
	}
	if _, err := p.Next(); !errors.Is(err, res.Err) && !(res.Err == nil && err == io.EOF) {
		t.Fatalf("error not sticky: first %v, then %v", res.Err, err)
	}
	res.LastID = p.LastEventID()
	res.Retry, res.HasRetry = p.Retry()
	res.Truncated = p.Truncated()
	res.Invalid = p.InvalidUTF8()
	return res
}

func ptCheckCaps(t testing.TB, p *Parser) {
	t.Helper()
	if maxBuf := max(p.readSize, p.maxLine+1); cap(p.buf) > maxBuf {
		t.Fatalf("read buffer grew to %d bytes, cap is %d", cap(p.buf), maxBuf)
	}
	if cap(p.data) > p.maxEvent+1 {
		t.Fatalf("data buffer grew to %d bytes, cap is %d", cap(p.data), p.maxEvent+1)
	}
}

// Chunkings of a stream.
func ptWhole(b []byte) [][]byte { return [][]byte{b} }

func ptBytewise(b []byte) [][]byte {
	out := make([][]byte, len(b))
	for i := range b {
		out[i] = b[i : i+1]
	}
	return out
}

// ptSplitCR cuts right after every CR, so each CRLF spans two reads.
func ptSplitCR(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\r')
		if i < 0 {
			return append(out, b)
		}
		out = append(out, b[:i+1])
		b = b[i+1:]
	}
	return out
}

func ptRandom(b []byte, seed uint64) [][]byte {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	var out [][]byte
	for len(b) > 0 {
		n := 1 + rng.IntN(min(len(b), 17))
		out = append(out, b[:n])
		b = b[n:]
	}
	return out
}

var ptChunkings = []struct {
	name  string
	split func([]byte) [][]byte
}{
	{"whole", ptWhole},
	{"bytewise", ptBytewise},
	{"split-cr-lf", ptSplitCR},
	{"random", func(b []byte) [][]byte { return ptRandom(b, uint64(len(b))) }},
}

// WHATWG / WPT eventsource format vectors. WPT's message.php writes the
// message, then "\n\n" (none with newline=none), then "\n": the streams
// below are those bytes.
var ptWPTCases = []struct {
	name      string
	in        string
	want      []ptEvent
	lastID    string
	retry     time.Duration
	truncated bool
	invalid   int
}{
	{
		name: "format-bom",
		in:   "\uFEFFdata:1\n\n\uFEFFdata:2\n\ndata:3\n\n\n",
		want: []ptEvent{ptMsg("1"), ptMsg("3")},
	},
	{
		name: "format-bom-2",
		in:   "\uFEFF\uFEFFdata:1\n\ndata:2\n\ndata:3\n\n\n",
		want: []ptEvent{ptMsg("2"), ptMsg("3")},
	},
	{
		name: "format-comments",
		in: "data:1\r:\x00\n:\r\ndata:2\n:" + strings.Repeat("x", 2048) + "\rdata:3\n:data:fail\r:" +
			strings.Repeat("x", 2048) + "\ndata:4\n\n",
		want: []ptEvent{ptMsg("1\n2\n3\n4")},
	},
	{
		name: "format-newlines",
		in:   "data:test\r\ndata\ndata:test\r\n\r\n",
		want: []ptEvent{ptMsg("test\n\ntest")},
	},
	{
		name: "format-leading-space",
		in:   "data:\ttest\rdata: \ndata:test\n\n\n",
		want: []ptEvent{ptMsg("\ttest\n\ntest")},
	},
	{
		name: "format-field-data",
		in:   "data:\n\ndata\ndata\n\ndata:test\n\n\n",
		want: []ptEvent{ptMsg(""), ptMsg("\n"), ptMsg("test")},
	},
	{
		name: "format-field-parsing",
		in:   "data:\x00\ndata:  2\rData:1\ndata\x00:2\ndata:1\r\x00data:4\nda-ta:3\rdata_5\ndata:3\rdata:\r\n data:32\ndata:4\n\n",
		want: []ptEvent{ptMsg("\x00\n 2\n1\n3\n\n4")},
	},
	{
		name: "format-field-unknown",
		in:   "data:test\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:test\n\n\n",
		want: []ptEvent{ptMsg("test\n\ntest")},
	},
	{
		name: "format-field-event",
		in:   "event:test\ndata:x\n\ndata:x\n\n\n",
		want: []ptEvent{{Type: "test", Data: "x"}, ptMsg("x")},
	},
	{
		name: "format-field-event-empty",
		in:   "event: \ndata:data\n\n\n",
		want: []ptEvent{ptMsg("data")},
	},
	{
		name:   "format-field-id",
		in:     "id: …\nretry: 200\ndata: hello\n\n",
		want:   []ptEvent{{ID: "…", Type: "message", Data: "hello", Retry: 200 * time.Millisecond, HasRetry: true}},
		lastID: "…",
		retry:  200 * time.Millisecond,
	},
	{
		name:   "format-field-id-2",
		in:     "id: …\ndata: hello\n\ndata: …\n\ndata: …\n\n",
		want:   []ptEvent{{ID: "…", Type: "message", Data: "hello"}, {ID: "…", Type: "message", Data: "…"}, {ID: "…", Type: "message", Data: "…"}},
		lastID: "…",
	},
	{
		name:   "format-field-id-3/persists",
		in:     "id: 1\ndata: 1\n\ndata:2\n\n",
		want:   []ptEvent{{ID: "1", Type: "message", Data: "1"}, {ID: "1", Type: "message", Data: "2"}},
		lastID: "1",
	},
	{
		name:   "format-field-id-3/changes-and-persists",
		in:     "id: 1\ndata: 1\n\nid: 2\ndata:2\n\ndata:3\n\n",
		want:   []ptEvent{{ID: "1", Type: "message", Data: "1"}, {ID: "2", Type: "message", Data: "2"}, {ID: "2", Type: "message", Data: "3"}},
		lastID: "2",
	},
	{
		name: "format-field-id-3/resets",
		in:   "id: 1\ndata: 1\n\nid:\ndata:2\n\ndata:3\n\n",
		want: []ptEvent{{ID: "1", Type: "message", Data: "1"}, ptMsg("2"), ptMsg("3")},
	},
	{
		name: "format-field-id-3/bare-id-resets",
		in:   "id: 1\ndata: 1\n\nid\ndata:2\n\n",
		want: []ptEvent{{ID: "1", Type: "message", Data: "1"}, ptMsg("2")},
	},
	{
		name:  "format-field-id-null",
		in:    "id: \x00\x00\nretry: 200\ndata: hello\n\nid: x\x00\ndata: 2\n\nid: \x00x\ndata: 3\n\nid: x\x00x\ndata: 4\n\nid:  \x00\ndata: 5\n\n",
		want:  []ptEvent{{Type: "message", Data: "hello", Retry: 200 * time.Millisecond, HasRetry: true}, ptMsg("2"), ptMsg("3"), ptMsg("4"), ptMsg("5")},
		retry: 200 * time.Millisecond,
	},
	{
		name:   "format-field-id-null/keeps-previous",
		in:     "id: a\ndata: 1\n\nid: x\x00x\ndata: 2\n\n",
		want:   []ptEvent{{ID: "a", Type: "message", Data: "1"}, {ID: "a", Type: "message", Data: "2"}},
		lastID: "a",
	},
	{
		name:  "format-field-retry",
		in:    "retry:03000\ndata:x\n\n\n",
		want:  []ptEvent{{Type: "message", Data: "x", Retry: 3 * time.Second, HasRetry: true}},
		retry: 3 * time.Second,
	},
	{
		name:  "format-field-retry-bogus",
		in:    "retry:2000\nretry:1000x\ndata:x\n\n\n",
		want:  []ptEvent{{Type: "message", Data: "x", Retry: 2 * time.Second, HasRetry: true}},
		retry: 2 * time.Second,
	},
	{
		name: "format-field-retry-empty",
		in:   "retry\ndata:test\n\n\n",
		want: []ptEvent{ptMsg("test")},
	},
	{
		name:      "format-data-before-final-empty-line",
		in:        "retry:1000\ndata:test1\n\nid:test\ndata:test2",
		want:      []ptEvent{{Type: "message", Data: "test1", Retry: time.Second, HasRetry: true}},
		retry:     time.Second,
		truncated: true,
	},
	{
		name:      "format-data-before-final-empty-line/php-newline",
		in:        "retry:1000\ndata:test1\n\nid:test\ndata:test2\n",
		want:      []ptEvent{{Type: "message", Data: "test1", Retry: time.Second, HasRetry: true}},
		retry:     time.Second,
		truncated: true,
	},
	{
		name: "format-null-character",
		in:   "data:\x00\n\n\n\n\n",
		want: []ptEvent{ptMsg("\x00")},
	},
	{
		name: "format-utf-8",
		in:   "data:ok\xE2\x80\xA6\n\n\n",
		want: []ptEvent{ptMsg("ok…")},
	},
	{
		// Maximal subparts: a truncated 4-byte sequence is one U+FFFD, a
		// surrogate (ED A0 80) is three, a literal U+FFFD is not counted.
		name:    "format-utf-8/invalid-bytes",
		in:      "data:a\xFFb\xE2\x82c\xF0\x9F\x98\nid:\xC0\x80\nevent:\xED\xA0\x80\ndata:\xEF\xBF\xBD\n\n",
		want:    []ptEvent{{ID: "\uFFFD\uFFFD", Type: "\uFFFD\uFFFD\uFFFD", Data: "a\uFFFDb\uFFFDc\uFFFD\n\uFFFD"}},
		lastID:  "\uFFFD\uFFFD",
		invalid: 8,
	},
	{
		name: "event-data",
		in:   "data:msg\ndata:msg\n\n:\nfalsedata:test\n\ndata:\n\ndata:end\n\n",
		want: []ptEvent{ptMsg("msg\nmsg"), ptMsg(""), ptMsg("end")},
	},
	// REFERENCE.md §5 rows that the WPT vectors do not spell out.
	{
		name: "line-ends/cr-only",
		in:   "data:a\rdata:b\r\rdata:c\r\r",
		want: []ptEvent{ptMsg("a\nb"), ptMsg("c")},
	},
	{
		name: "line-ends/crlf-only",
		in:   "data:a\r\ndata:b\r\n\r\ndata:c\r\n\r\n",
		want: []ptEvent{ptMsg("a\nb"), ptMsg("c")},
	},
	{
		name: "line-ends/mixed",
		in:   "data:a\rdata:b\n\r\ndata:c\n\r",
		want: []ptEvent{ptMsg("a\nb"), ptMsg("c")},
	},
	{
		name:  "retry-variants",
		in:    "retry: 1000x\nretry:\nretry: -1\nretry:  5\nretry: 0\ndata:a\n\nretry: 99999999999\n\nretry: 99999999999999999999999\n\n",
		want:  []ptEvent{{Type: "message", Data: "a", HasRetry: true}},
		retry: math.MaxInt64,
	},
	{
		name:   "id-only-block-updates-last-id",
		in:     "id: 5\n\nid: 6\nevent: x\n\n",
		lastID: "6",
	},
	{
		name: "comments-only",
		in:   ": ping\n: ping\r\n:\r\n",
	},
	{
		name:      "eof-inside-line",
		in:        "data: a\n\nda",
		want:      []ptEvent{ptMsg("a")},
		truncated: true,
	},
	{
		name: "eof-inside-comment",
		in:   "data: a\n\n: pi",
		want: []ptEvent{ptMsg("a")},
	},
	{
		name: "eof-after-id-only-block",
		in:   "data: a\n\nid: 9\n",
		want: []ptEvent{ptMsg("a")},
	},
	{
		name: "bom-only",
		in:   "\uFEFF",
	},
}

func TestParserWPT(t *testing.T) {
	opts := []struct {
		name string
		ParserOptions
	}{
		{"default", ParserOptions{}},
		{"tiny-buffer", ParserOptions{ReadSize: 3}},
	}
	for _, tc := range ptWPTCases {
		want := ptResult{Events: tc.want, LastID: tc.lastID, Retry: tc.retry, HasRetry: tc.retry != 0,
			Truncated: tc.truncated, Invalid: tc.invalid}
		for _, ck := range ptChunkings {
			for _, o := range opts {
				for _, eofLast := range []bool{false, true} {
					name := fmt.Sprintf("%s/%s/%s/eof-with-data=%v", tc.name, ck.name, o.name, eofLast)
					t.Run(name, func(t *testing.T) {
						got := ptParse(t, ck.split([]byte(tc.in)), o.ParserOptions, eofLast)
						if !ptSame(got, want) {
							t.Errorf("\ngot  %v\nwant %v", got, want)
						}
					})
				}
			}
		}
	}
}

// TestParserEverySplit feeds each vector in two reads, split at every offset.
func TestParserEverySplit(t *testing.T) {
	for _, tc := range ptWPTCases {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.in)
			want := ptParse(t, ptWhole(in), ParserOptions{}, false)
			for i := 1; i < len(in); i++ {
				got := ptParse(t, [][]byte{in[:i], in[i:]}, ParserOptions{}, false)
				if !ptSame(got, want) {
					t.Fatalf("split at %d:\ngot  %v\nwant %v", i, got, want)
				}
			}
		})
	}
}

// ptClock is a fake clock that ticks one second per call.
type ptClock struct {
	t     time.Time
	calls int
}

func (c *ptClock) now() time.Time {
	c.calls++
	return c.t.Add(time.Duration(c.calls) * time.Second)
}

func TestParserTimes(t *testing.T) {
	// Read k happens at T(k) = base + k s when the clock is only called per
	// read and per dispatch; each dispatch consumes one tick as well.
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(k int) time.Time { return base.Add(time.Duration(k) * time.Second) }
	type want struct {
		data              string
		first, dispatched time.Time
	}
	tests := []struct {
		name   string
		chunks []string
		want   []want
		calls  int
	}{
		{
			name:   "comment before the block does not count",
			chunks: []string{": ping\n", "data: x\n", "\n"}, // reads 1,2,3; dispatch 4
			want:   []want{{"x", at(2), at(4)}},
			calls:  4,
		},
		{
			name:   "line spanning reads starts at its first byte",
			chunks: []string{"da", "ta: y\n", "\n"}, // reads 1,2,3; dispatch 4
			want:   []want{{"y", at(1), at(4)}},
			calls:  4,
		},
		{
			name:   "two events in one read",
			chunks: []string{"data: 1\n\ndata: 2\n\n"}, // read 1; dispatches 2,3
			want:   []want{{"1", at(1), at(2)}, {"2", at(1), at(3)}},
			calls:  3,
		},
		{
			name:   "partial line left from an earlier read",
			chunks: []string{"data: 1\n\nda", "ta: 2\n\n"}, // read 1; dispatch 2; read 3; dispatch 4
			want:   []want{{"1", at(1), at(2)}, {"2", at(1), at(4)}},
			calls:  4,
		},
		{
			name:   "line completed by a read that starts the next one",
			chunks: []string{"da", "ta: 1\n\ndata: 2\n\n"}, // read 1, read 2, dispatches 3, 4
			want:   []want{{"1", at(1), at(3)}, {"2", at(2), at(4)}},
			calls:  4,
		},
		{
			name:   "CR then LF in the next read",
			chunks: []string{"data: 1\r", "\ndata: 2\r\n\r", "\n"}, // read 1, read 2, dispatch 3, read 4
			want:   []want{{"1\n2", at(1), at(3)}},
			calls:  4,
		},
		{
			name:   "block without data does not call the clock",
			chunks: []string{"id: 1\n\n", "data: z\n\n"}, // read 1 (no dispatch), read 2, dispatch 3
			want:   []want{{"z", at(2), at(3)}},
			calls:  3,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := &ptClock{t: base}
			var chunks [][]byte
			for _, c := range tc.chunks {
				chunks = append(chunks, []byte(c))
			}
			p := NewParser(&ptReader{chunks: chunks}, ParserOptions{Now: clk.now})
			var got []want
			for {
				ev, err := p.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if !ev.FirstByte.Before(ev.Dispatched) {
					t.Errorf("FirstByte %v not before Dispatched %v", ev.FirstByte, ev.Dispatched)
				}
				got = append(got, want{string(ev.Data), ev.FirstByte, ev.Dispatched})
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("\ngot  %v\nwant %v", got, tc.want)
			}
			if clk.calls != tc.calls {
				t.Errorf("clock called %d times, want %d", clk.calls, tc.calls)
			}
		})
	}
}

// ptRepeat reads pattern over and over, up to limit bytes (0: forever).
type ptRepeat struct {
	pattern []byte
	off     int
	limit   int64
	n       int64
}

func (r *ptRepeat) Read(b []byte) (int, error) {
	if r.limit > 0 && r.n >= r.limit {
		return 0, io.EOF
	}
	if r.limit > 0 && int64(len(b)) > r.limit-r.n {
		b = b[:r.limit-r.n]
	}
	n := 0
	for n < len(b) {
		k := copy(b[n:], r.pattern[r.off:])
		n += k
		r.off = (r.off + k) % len(r.pattern)
	}
	r.n += int64(n)
	return n, nil
}

func TestParserCaps(t *testing.T) {
	const tenMiB = 10 << 20
	tests := []struct {
		name    string
		r       io.Reader
		opts    ParserOptions
		events  int   // events before the error
		want    error // matched with errors.Is
		maxRead int64 // bytes the parser may consume before failing
	}{
		{
			name:    "10 MiB line without newline, streamed",
			r:       &ptRepeat{pattern: []byte("a"), limit: tenMiB},
			want:    ErrLineTooLong,
			maxRead: DefaultMaxLine + 1,
		},
		{
			name:    "10 MiB line without newline, one chunk",
			r:       &ptReader{chunks: [][]byte{bytes.Repeat([]byte("a"), tenMiB)}},
			want:    ErrLineTooLong,
			maxRead: DefaultMaxLine + 1,
		},
		{
			name:    "10 MiB data line ending in LF",
			r:       io.MultiReader(strings.NewReader("data: "), &ptRepeat{pattern: []byte("a"), limit: tenMiB}, strings.NewReader("\n\n")),
			want:    ErrLineTooLong,
			maxRead: DefaultMaxLine + 1,
		},
		{
			name:    "endless data lines, no blank line",
			r:       &ptRepeat{pattern: []byte("data: " + strings.Repeat("x", 1000) + "\n")},
			want:    ErrEventTooLarge,
			maxRead: DefaultMaxEvent*1007/1000 + DefaultReadSize,
		},
		{
			name:    "thousands of empty data lines",
			r:       &ptRepeat{pattern: []byte("data\r\n")},
			want:    ErrEventTooLarge,
			maxRead: DefaultMaxEvent*6 + DefaultReadSize,
		},
		{
			name:    "line of exactly MaxLine bytes passes",
			r:       strings.NewReader("data:123\n\ndata:1234\n\n"),
			opts:    ParserOptions{MaxLine: 8, ReadSize: 2},
			events:  1,
			want:    ErrLineTooLong,
			maxRead: 1 << 10,
		},
		{
			name:    "partial line over MaxLine fails before its end",
			r:       &ptRepeat{pattern: []byte("data:123456789")},
			opts:    ParserOptions{MaxLine: 8, ReadSize: 2},
			want:    ErrLineTooLong,
			maxRead: 9,
		},
		{
			name:    "event of exactly MaxEvent bytes passes",
			r:       strings.NewReader("data:ab\ndata:c\n\ndata:ab\ndata:cd\n\n"),
			opts:    ParserOptions{MaxEvent: 4},
			events:  1,
			want:    ErrEventTooLarge,
			maxRead: 1 << 10,
		},
		{
			name:    "U+FFFD replacement counts towards MaxEvent",
			r:       strings.NewReader("data:\xFF\xFF\n\ndata:\xFF\xFF\xFF\n\n"),
			opts:    ParserOptions{MaxEvent: 6},
			events:  1,
			want:    ErrEventTooLarge,
			maxRead: 1 << 10,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cr := &ptCounting{r: tc.r}
			p := NewParser(cr, tc.opts)
			var err error
			events := 0
			for {
				_, err = p.Next()
				ptCheckCaps(t, p)
				if err != nil {
					break
				}
				if events++; events > 1000 {
					t.Fatal("no error after 1000 events")
				}
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			var le *LimitError
			if !errors.As(err, &le) || le.Limit <= 0 || (le.What != "line" && le.What != "event") {
				t.Fatalf("error %#v is not a usable *LimitError", err)
			}
			if events != tc.events {
				t.Errorf("%d events before the error, want %d", events, tc.events)
			}
			if cr.n > tc.maxRead {
				t.Errorf("read %d bytes before failing, want at most %d", cr.n, tc.maxRead)
			}
			if _, again := p.Next(); again != err {
				t.Errorf("second call: %v, want the same error", again)
			}
		})
	}
}

type ptCounting struct {
	r io.Reader
	n int64
}

func (c *ptCounting) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

func TestParserLimitErrorText(t *testing.T) {
	tests := []struct {
		err  *LimitError
		want string
		is   error
	}{
		{&LimitError{What: "line", Limit: 8}, "sse: line longer than 8 bytes (raise ParserOptions.MaxLine)", ErrLineTooLong},
		{&LimitError{What: "event", Limit: 4}, "sse: event data larger than 4 bytes (raise ParserOptions.MaxEvent)", ErrEventTooLarge},
	}
	for _, tc := range tests {
		if tc.err.Error() != tc.want {
			t.Errorf("Error() = %q, want %q", tc.err.Error(), tc.want)
		}
		if !errors.Is(tc.err, tc.is) {
			t.Errorf("%v does not match %v", tc.err, tc.is)
		}
	}
}

type ptFailing struct {
	chunks [][]byte
	err    error
}

func (r *ptFailing) Read(b []byte) (int, error) {
	if len(r.chunks) == 0 {
		return 0, r.err
	}
	n := copy(b, r.chunks[0])
	r.chunks = r.chunks[1:]
	return n, nil
}

func TestParserReadErrors(t *testing.T) {
	boom := errors.New("connection reset")
	tests := []struct {
		name      string
		r         io.Reader
		events    int
		want      error
		truncated bool
	}{
		{"error mid-event", &ptFailing{[][]byte{[]byte("data: a\n\ndata: b\n")}, boom}, 1, boom, true},
		{"error between events", &ptFailing{[][]byte{[]byte("data: a\n\n")}, boom}, 1, boom, false},
		{"reader that never makes progress", &ptFailing{nil, nil}, 0, io.ErrNoProgress, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := NewParser(tc.r, ParserOptions{})
			events := 0
			var err error
			for {
				if _, err = p.Next(); err != nil {
					break
				}
				events++
			}
			if err != tc.want || events != tc.events || p.Truncated() != tc.truncated {
				t.Errorf("err=%v events=%d truncated=%v, want %v %d %v", err, events, p.Truncated(), tc.want, tc.events, tc.truncated)
			}
		})
	}
}

func TestParserOnLine(t *testing.T) {
	tests := []struct {
		in     string
		lines  int
		events int
	}{
		{": ping\n: ping\r\n\rdata: x\n\n", 5, 1},
		{": only comments\n: for a long time\n", 2, 0},
		{"\uFEFF: bom then comment\r\n\n", 2, 0},
		{"data: no line end", 0, 0},
	}
	for _, tc := range tests {
		t.Run(strconv.Quote(tc.in), func(t *testing.T) {
			lines := 0
			p := NewParser(strings.NewReader(tc.in), ParserOptions{OnLine: func() { lines++ }})
			events := 0
			for {
				if _, err := p.Next(); err != nil {
					break
				}
				events++
			}
			if lines != tc.lines || events != tc.events {
				t.Errorf("lines=%d events=%d, want %d %d", lines, events, tc.lines, tc.events)
			}
		})
	}
}

func TestParserReset(t *testing.T) {
	p := NewParser(strings.NewReader("id: 7\nretry: 200\ndata: a\n\nid: 8\ndata: cut"), ParserOptions{})
	first := ptCollect(t, p)
	if want := []ptEvent{{ID: "7", Type: "message", Data: "a", Retry: 200 * time.Millisecond, HasRetry: true}}; fmt.Sprint(first) != fmt.Sprint(want) {
		t.Fatalf("first stream: %v, want %v", first, want)
	}
	if !p.Truncated() || p.LastEventID() != "7" {
		t.Fatalf("after first stream: truncated=%v lastID=%q", p.Truncated(), p.LastEventID())
	}
	// A reconnection: a new stream with its own BOM, no id; the source's
	// last event ID and reconnection time carry over.
	p.Reset(strings.NewReader("\uFEFFdata: b\n\n"))
	second := ptCollect(t, p)
	if want := []ptEvent{{ID: "7", Type: "message", Data: "b"}}; fmt.Sprint(second) != fmt.Sprint(want) {
		t.Fatalf("second stream: %v, want %v", second, want)
	}
	if d, ok := p.Retry(); p.Truncated() || p.LastEventID() != "7" || d != 200*time.Millisecond || !ok {
		t.Fatalf("after second stream: truncated=%v lastID=%q retry=%v,%v", p.Truncated(), p.LastEventID(), d, ok)
	}
}

// TestParserSize checks Event.Size, the wire size of an event's block, whole
// and across every chunking, including a buffer compaction mid-stream.
func TestParserSize(t *testing.T) {
	long := "data: " + strings.Repeat("z", 5000) + "\n\n" // more than one 4 KiB read
	tests := []struct {
		name  string
		in    string
		sizes []int
		split bool // the CR and LF of the blank line may arrive apart: the LF is then not counted
	}{
		{name: "one line", in: "data: a\n\n", sizes: []int{9}},
		{name: "fields", in: "id: 1\nevent: e\ndata: a\n\n", sizes: []int{24}},
		{name: "comment before is not counted", in: ": ping\ndata: a\n\n", sizes: []int{9}},
		{name: "comment inside is", in: "data: a\n: c\ndata: b\n\n", sizes: []int{21}},
		{name: "undispatched block is not", in: "id: 1\n\ndata: a\n\n", sizes: []int{9}},
		{name: "BOM", in: "\uFEFFdata: a\n\n", sizes: []int{12}},
		{name: "CRLF", in: "data: a\r\n\r\ndata: bb\r\n\r\n", sizes: []int{11, 12}, split: true},
		{name: "CR", in: "data: a\r\rdata: b\r\r", sizes: []int{9, 9}},
		{name: "long", in: long + "data: a\n\n" + long, sizes: []int{len(long), 9, len(long)}},
	}
	for _, tt := range tests {
		for _, c := range []struct {
			name  string
			split func([]byte) [][]byte
		}{{"whole", ptWhole}, {"bytewise", ptBytewise}} {
			t.Run(tt.name+"/"+c.name, func(t *testing.T) {
				p := NewParser(&ptReader{chunks: c.split([]byte(tt.in))}, ParserOptions{})
				var sizes []int
				for {
					ev, err := p.Next()
					if err != nil {
						break
					}
					sizes = append(sizes, ev.Size)
				}
				want := tt.sizes
				if tt.split && c.name == "bytewise" {
					want = nil
					for _, n := range tt.sizes {
						want = append(want, n-1)
					}
				}
				if fmt.Sprint(sizes) != fmt.Sprint(want) {
					t.Errorf("sizes %v, want %v", sizes, want)
				}
			})
		}
	}
}

// TestParserSetLastEventID starts a source from a known last event ID.
func TestParserSetLastEventID(t *testing.T) {
	p := NewParser(strings.NewReader("data: a\n\nid: 8\n\ndata: b\n\nid\ndata: c\n\n"), ParserOptions{})
	p.SetLastEventID("7")
	got := ptCollect(t, p)
	want := []ptEvent{{ID: "7", Type: "message", Data: "a"}, {ID: "8", Type: "message", Data: "b"}, {Type: "message", Data: "c"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%v, want %v", got, want)
	}
}

func ptCollect(t *testing.T, p *Parser) []ptEvent {
	t.Helper()
	var out []ptEvent
	for {
		ev, err := p.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ptEvent{ev.ID, ev.Type, string(ev.Data), ev.Retry, ev.HasRetry})
	}
}

// ptTicks returns n typical tick events as rtbench's mock server writes them.
func ptTicks(n int) []byte {
	var b []byte
	sched := int64(1767225600000000000)
	for seq := 1; seq <= n; seq++ {
		payload := fmt.Sprintf(`{"seq":%d,"sched_ns":%d,"sent_ns":%d}`, seq, sched, sched+12345)
		b = AppendEvent(b, strconv.Itoa(seq), "tick", []byte(payload))
		sched += int64(time.Millisecond)
	}
	return b
}

func TestParserNoAllocs(t *testing.T) {
	stream := ptTicks(1000)
	p := NewParser(&ptRepeat{pattern: stream}, ParserOptions{})
	for range 2000 { // warm the buffers
		if _, err := p.Next(); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := p.Next(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per event, want 0", allocs)
	}
}

// TestParserNoEventIDs: with NoEventIDs events carry no ID, and
// LastEventID still says, after every event and at the end, what the ID
// would have been: every WPT vector, chunked every way, compared with a
// parser that keeps IDs.
func TestParserNoEventIDs(t *testing.T) {
	for _, tc := range ptWPTCases {
		for _, ck := range ptChunkings {
			t.Run(tc.name+"/"+ck.name, func(t *testing.T) {
				in := []byte(tc.in)
				with := NewParser(&ptReader{chunks: ck.split(in)}, ParserOptions{})
				without := NewParser(&ptReader{chunks: ck.split(in)}, ParserOptions{NoEventIDs: true})
				for i := 0; ; i++ {
					a, errA := with.Next()
					b, errB := without.Next()
					if (errA == nil) != (errB == nil) {
						t.Fatalf("event %d: errors %v and %v", i, errA, errB)
					}
					if errA != nil {
						break
					}
					if b.ID != "" {
						t.Fatalf("event %d: ID %q, want none", i, b.ID)
					}
					if got := without.LastEventID(); got != a.ID || string(b.Data) != string(a.Data) || b.Type != a.Type {
						t.Fatalf("event %d: LastEventID %q data %q type %q, want %q %q %q", i, got, b.Data, b.Type, a.ID, a.Data, a.Type)
					}
				}
				if a, b := with.LastEventID(), without.LastEventID(); a != b {
					t.Fatalf("at the end: LastEventID %q, want %q", b, a)
				}
			})
		}
	}
}

// blocking returns netpoll.ErrWouldBlock before each of its reader's
// reads, as a socket read by a poller does when its bytes come one piece at
// a time.
type blocking struct {
	r       io.Reader
	blocked bool
}

func (b *blocking) Read(p []byte) (int, error) {
	if b.blocked = !b.blocked; b.blocked {
		return 0, netpoll.ErrWouldBlock
	}
	return b.r.Read(p)
}

// TestParserWouldBlock: a reader that answers ErrWouldBlock between its
// pieces (a socket read by a poller) gives the same events, end, last event
// ID and truncation as one that waits, in every chunking of every WHATWG
// case: the error is passed on, not sticky, and the next call reads on.
func TestParserWouldBlock(t *testing.T) {
	for _, tc := range ptWPTCases {
		for _, ck := range ptChunkings {
			t.Run(tc.name+"/"+ck.name, func(t *testing.T) {
				in := []byte(tc.in)
				waits := NewParser(&ptReader{chunks: ck.split(in)}, ParserOptions{})
				polled := NewParser(&blocking{r: &ptReader{chunks: ck.split(in)}}, ParserOptions{})
				for i := 0; ; i++ {
					a, errA := waits.Next()
					b, errB := polled.Next()
					blocks := 0
					for ; errB == netpoll.ErrWouldBlock; blocks++ {
						if blocks > 2*len(in)+2 {
							t.Fatalf("event %d: ErrWouldBlock for ever", i)
						}
						b, errB = polled.Next()
					}
					if errA != errB {
						t.Fatalf("event %d: errors %v and %v", i, errA, errB)
					}
					if errA != nil {
						break
					}
					if b.ID != a.ID || string(b.Data) != string(a.Data) || b.Type != a.Type || b.Size != a.Size {
						t.Fatalf("event %d: %+v, want %+v", i, b, a)
					}
				}
				if waits.LastEventID() != polled.LastEventID() || waits.Truncated() != polled.Truncated() {
					t.Fatalf("at the end: last ID %q truncated %v, want %q %v", polled.LastEventID(), polled.Truncated(), waits.LastEventID(), waits.Truncated())
				}
			})
		}
	}
}

// TestParserNoEventIDsResume: the last ID carries over a Reset and starts
// from SetLastEventID, as with IDs kept.
func TestParserNoEventIDsResume(t *testing.T) {
	p := NewParser(strings.NewReader("data: a\n\nid: 8\ndata: b\n\nid: 9\ndata: cut"), ParserOptions{NoEventIDs: true})
	p.SetLastEventID("7")
	var ids []string
	for {
		ev, err := p.Next()
		if err != nil {
			break
		}
		ids = append(ids, ev.ID+"/"+p.LastEventID())
	}
	if got, want := strings.Join(ids, " "), "/7 /8"; got != want {
		t.Fatalf("IDs/last IDs %q, want %q", got, want)
	}
	p.Reset(strings.NewReader("data: c\n\nid: 10\n\n"))
	if ev, err := p.Next(); err != nil || ev.ID != "" || p.LastEventID() != "8" {
		t.Fatalf("after Reset: %v, ID %q, last %q; want no error, no ID, last 8", err, ev.ID, p.LastEventID())
	}
	if _, err := p.Next(); err != io.EOF || p.LastEventID() != "10" {
		t.Fatalf("at the end: %v, last %q; want EOF, last 10", err, p.LastEventID())
	}
}

// TestParserNoEventIDsNoAllocs counts every allocation over 20,000
// events that each carry a new ID (testing.AllocsPerRun's average rounds
// an allocation per ~70 events down to 0; this does not). With IDs kept
// they are interned, a chunk per ~70 events; without, none.
func TestParserNoEventIDsNoAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("counts allocations over 20,000 events")
	}
	for _, tc := range []struct {
		noIDs bool
		some  bool // allocations expected
	}{{noIDs: true}, {noIDs: false, some: true}} {
		// 20,000 events of 5–6-byte IDs fill ~230 chunks of 512 bytes.
		t.Run(fmt.Sprintf("NoEventIDs=%v", tc.noIDs), func(t *testing.T) {
			var stream []byte
			for seq := 1; seq <= 25000; seq++ {
				stream = AppendEvent(stream, strconv.Itoa(seq), "tick", []byte(`{"seq":1}`))
			}
			p := NewParser(bytes.NewReader(stream), ParserOptions{NoEventIDs: tc.noIDs})
			for range 5000 { // warm the buffers
				if _, err := p.Next(); err != nil {
					t.Fatal(err)
				}
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for range 20000 {
				if _, err := p.Next(); err != nil {
					t.Fatal(err)
				}
			}
			runtime.ReadMemStats(&after)
			// The count is the process's: a few may be another
			// goroutine's (a test server winding down).
			n := after.Mallocs - before.Mallocs
			t.Logf("%d allocations", n)
			if tc.some && n < 100 || !tc.some && n > 10 {
				t.Errorf("%d allocations over 20,000 events, want %s", n, map[bool]string{true: "one per ~70 events", false: "none"}[tc.some])
			}
		})
	}
}

func BenchmarkParser(b *testing.B) {
	stream := ptTicks(1000)
	p := NewParser(&ptRepeat{pattern: stream}, ParserOptions{})
	b.SetBytes(int64(len(stream) / 1000))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Next(); err != nil {
			b.Fatal(err)
		}
	}
}

func ExampleParser() {
	stream := ": keep-alive\n" +
		"id: 1\nevent: tick\ndata: {\"seq\":1}\n\n" +
		"retry: 2000\ndata: line one\ndata: line two\n\n" +
		"data: cut short"
	p := NewParser(strings.NewReader(stream), ParserOptions{})
	for {
		ev, err := p.Next()
		if err != nil {
			fmt.Println(err, "truncated:", p.Truncated())
			break
		}
		fmt.Printf("id=%s type=%s retry=%v data=%q\n", ev.ID, ev.Type, ev.Retry, ev.Data)
	}
	// Output:
	// id=1 type=tick retry=0s data="{\"seq\":1}"
	// id=1 type=message retry=2s data="line one\nline two"
	// EOF truncated: true
}

// TestBusyReadSize: the read buffer doubles up to BusyReadSize while reads
// fill it (a stream ahead of its reader), and stays at ReadSize for one read
// as fast as it comes.
func TestBusyReadSize(t *testing.T) {
	ev := "data: " + strings.Repeat("x", 90) + "\n\n"
	stream := strings.Repeat(ev, 200)
	for _, tc := range []struct {
		name string
		r    io.Reader
		want int
	}{
		{"ahead of the reader", strings.NewReader(stream), 4096},
		{"one event per read", &pieces{b: []byte(stream), sizes: []byte{byte(len(ev) - 1)}}, 512},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := NewParser(tc.r, ParserOptions{ReadSize: 512, BusyReadSize: 4096})
			n := 0
			for {
				if _, err := p.Next(); err != nil {
					break
				}
				n++
			}
			if n != 200 || len(p.buf) != tc.want {
				t.Errorf("%d events, buffer %d bytes; want 200 and %d", n, len(p.buf), tc.want)
			}
		})
	}
}
