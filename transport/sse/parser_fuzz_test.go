package sse

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzParser checks, for any stream: no panic; the same result whether the
// stream arrives whole, one byte at a time or in random pieces; buffers within
// the caps; and the same events as ptReference, a literal transcription of the
// WHATWG decoding and parsing steps.
func FuzzParser(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "parser", "*"))
	if err != nil {
		f.Fatal(err)
	}
	for i, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint64(i))
	}
	for i, tc := range ptWPTCases {
		f.Add([]byte(tc.in), uint64(1000+i))
	}
	// Line ends, BOMs, caps and retry values the files do not cover.
	for i, s := range []string{
		"data:a\r\rdata:b\r\n\r\n", "\xef\xbb\xbf\xef\xbb\xbfdata:x\n\n", "\xef\xbbdata:x\n\n",
		"id:a\x00b\ndata:x\n\nid\ndata:y\n\n", "retry:99999999999999999999\ndata:x\n\n", "retry: 5\nretry:12x\n\n",
		"data\ndata\n\n", ":comment\r\ndata: \xff\xfe\r\n\r\n", "event:\ndata:x\n\n", "data:" + strings.Repeat("y", 60) + "\n\n",
		strings.Repeat("data:zz\n", 40) + "\n", "data:x\n", "data:x", "\r", "",
	} {
		f.Add([]byte(s), uint64(2000+i))
	}
	capped := ParserOptions{MaxLine: 40, MaxEvent: 100, ReadSize: 7}
	f.Fuzz(func(t *testing.T, in []byte, seed uint64) {
		for _, opts := range []ParserOptions{{}, capped} {
			whole := ptParse(t, ptWhole(in), opts, false)
			for _, chunks := range [][][]byte{ptBytewise(in), ptRandom(in, seed), ptSplitCR(in)} {
				if got := ptParse(t, chunks, opts, seed&1 == 1); !ptSame(got, whole) {
					t.Fatalf("chunking changed the result (opts %+v):\nwhole %v\nsplit %v", opts, whole, got)
				}
			}
			ref := ptReference(in)
			if whole.Err != nil {
				// Past a cap: the events before it are the reference's first ones.
				if len(whole.Events) > len(ref.Events) || !ptSame(ptResult{Events: whole.Events}, ptResult{Events: ref.Events[:len(whole.Events)]}) {
					t.Fatalf("events before %v differ from the reference:\ngot %v\nref %v", whole.Err, whole.Events, ref.Events)
				}
				if opts.MaxLine == 0 {
					t.Fatalf("default caps hit by a %d-byte input: %v", len(in), whole.Err)
				}
				continue
			}
			whole.Invalid = 0 // the reference does not count
			if !ptSame(whole, ref) {
				t.Fatalf("differs from the reference (opts %+v):\ngot %v\nref %v", opts, whole, ref)
			}
		}
	})
}

// ptReference parses a whole stream the slow, literal way: decode all of it
// as UTF-8 (WHATWG decoder), strip one BOM, split into lines, run the field
// steps. Only complete lines count; what follows the last line end is dropped.
func ptReference(stream []byte) ptResult {
	text := ptDecodeUTF8(stream)
	text = strings.TrimPrefix(text, "\uFEFF")
	var lines []string
	for {
		i := strings.IndexAny(text, "\r\n")
		if i < 0 {
			break
		}
		lines = append(lines, text[:i])
		if strings.HasPrefix(text[i:], "\r\n") {
			i++
		}
		text = text[i+1:]
	}
	var (
		res                 ptResult
		data, typ, idBuffer string
		blockRetry          bool
	)
	for _, line := range lines {
		if line == "" {
			res.LastID = idBuffer
			if data == "" {
				typ, blockRetry = "", false
				continue
			}
			ev := ptEvent{ID: res.LastID, Type: "message", Data: strings.TrimSuffix(data, "\n")}
			if typ != "" {
				ev.Type = typ
			}
			if blockRetry {
				ev.Retry, ev.HasRetry = res.Retry, true
			}
			res.Events = append(res.Events, ev)
			data, typ, blockRetry = "", "", false
			continue
		}
		if line[0] == ':' {
			continue
		}
		name, value, found := strings.Cut(line, ":")
		if found {
			value = strings.TrimPrefix(value, " ")
		}
		switch name {
		case "event":
			typ = value
		case "data":
			data += value + "\n"
		case "id":
			if !strings.ContainsRune(value, 0) {
				idBuffer = value
			}
		case "retry":
			if value != "" && strings.Trim(value, "0123456789") == "" {
				ms := 0.0
				for _, c := range value {
					ms = ms*10 + float64(c-'0')
				}
				d := time.Duration(math.MaxInt64)
				if ms <= float64(math.MaxInt64/int64(time.Millisecond)) {
					d = time.Duration(int64(ms)) * time.Millisecond
				}
				res.Retry, res.HasRetry, blockRetry = d, true, true
			}
		}
	}
	res.Truncated = data != "" || (text != "" && text[0] != ':')
	return res
}

// ptDecodeUTF8 is the WHATWG Encoding standard's UTF-8 decoder, step by step.
func ptDecodeUTF8(b []byte) string {
	var (
		out          []rune
		cp           rune
		needed, seen int
		lower, upper = byte(0x80), byte(0xBF)
		reset        = func() { cp, needed, seen, lower, upper = 0, 0, 0, 0x80, 0xBF }
		emitErr      = func() { out = append(out, utf8.RuneError) }
	)
	for i := 0; i < len(b); i++ {
		c := b[i]
		if needed == 0 {
			switch {
			case c <= 0x7F:
				out = append(out, rune(c))
			case c >= 0xC2 && c <= 0xDF:
				needed, cp = 1, rune(c&0x1F)
			case c >= 0xE0 && c <= 0xEF:
				if c == 0xE0 {
					lower = 0xA0
				}
				if c == 0xED {
					upper = 0x9F
				}
				needed, cp = 2, rune(c&0xF)
			case c >= 0xF0 && c <= 0xF4:
				if c == 0xF0 {
					lower = 0x90
				}
				if c == 0xF4 {
					upper = 0x8F
				}
				needed, cp = 3, rune(c&0x7)
			default:
				emitErr()
			}
			continue
		}
		if c < lower || c > upper {
			reset()
			emitErr()
			i-- // prepend the byte to the stream
			continue
		}
		lower, upper = 0x80, 0xBF
		cp = cp<<6 | rune(c&0x3F)
		seen++
		if seen == needed {
			out = append(out, cp)
			reset()
		}
	}
	if needed != 0 {
		emitErr()
	}
	return string(out)
}
