package sse

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http/httputil"
	"strings"
	"testing"

	"github.com/rtbench/rtbench/transport/internal/netpoll"
)

// pieces reads b in pieces of the given sizes, in turn (1 when none), with
// netpoll.ErrWouldBlock before each piece when block is set (a socket read
// by a poller).
type pieces struct {
	b       []byte
	sizes   []byte
	i       int
	block   bool
	blocked bool
}

func (p *pieces) Read(dst []byte) (int, error) {
	if p.block {
		if p.blocked = !p.blocked; p.blocked {
			return 0, netpoll.ErrWouldBlock
		}
	}
	if len(p.b) == 0 {
		return 0, io.EOF
	}
	n := 1
	if len(p.sizes) > 0 {
		n = int(p.sizes[p.i%len(p.sizes)]) + 1
		p.i++
	}
	n = copy(dst, p.b[:min(n, len(p.b))])
	p.b = p.b[n:]
	return n, nil
}

// decodeChunked reads body through chunked, the first pre bytes as if read
// with the headers, into reads of size buf; it returns the data and the
// error that ended it. With block, the connection answers ErrWouldBlock
// before each piece, and decodeChunked reads on.
func decodeChunked(body []byte, pre int, sizes []byte, buf int, block bool) ([]byte, error) {
	pre = min(pre, len(body))
	br := bufio.NewReaderSize(bytes.NewReader(body[:pre]), max(pre, 16))
	br.Peek(pre)
	c := newChunked(br, &pieces{b: body[pre:], sizes: sizes, block: block})
	var out []byte
	p := make([]byte, buf)
	for empty := 0; empty < 100; {
		n, err := c.Read(p)
		out = append(out, p[:n]...)
		if err == netpoll.ErrWouldBlock {
			if n != 0 {
				return out, errors.New("ErrWouldBlock with data")
			}
			continue
		}
		if err != nil {
			return out, err
		}
		if n == 0 {
			empty++
		}
	}
	return out, io.ErrNoProgress
}

// oracle is net/http's chunked reader over the lean path's old 512-byte
// header buffer.
func oracle(body []byte) ([]byte, error) {
	out, err := io.ReadAll(httputil.NewChunkedReader(bufio.NewReaderSize(bytes.NewReader(body), LeanHeaderBuffer)))
	if err == nil {
		err = io.EOF
	}
	return out, err
}

func TestChunked(t *testing.T) {
	long := strings.Repeat("x", 600)
	for _, tc := range []struct {
		name, body, want string
		err              error
	}{
		{"events", "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n", "hello, world", io.EOF},
		{"extension and white space", "5;name=v \t\r\nhello\r\n3 \r\nabc\r\n0\r\n", "helloabc", io.EOF},
		{"upper-case hex", "A\r\n0123456789\r\n0\r\n", "0123456789", io.EOF},
		{"cut in a chunk", "5\r\nhel", "hel", io.ErrUnexpectedEOF},
		{"cut before the last chunk", "5\r\nhello\r\n", "hello", io.ErrUnexpectedEOF},
		{"no CRLF after the data", "5\r\nhelloX\r\n", "hello", errChunkMalformed},
		{"bare LF", "5\nhello", "", errChunkBareLF},
		{"CR inside the line", "5\rx\nhello", "", errChunkCR},
		{"no size", "\r\nhello", "", errChunkEmpty},
		{"white space before an extension", "5 ;x\r\nhello\r\n0\r\n", "", errChunkByte},
		{"17 hex digits", "10000000000000000\r\n", "", errChunkTooLarge},
		{"not hex", "5g\r\n", "", errChunkByte},
		{"line too long", "5;" + long + "\r\nhello\r\n0\r\n", "", errChunkLine},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, buf := range []int{1, 3, 512} {
				for _, block := range []bool{false, true} {
					got, err := decodeChunked([]byte(tc.body), 4, []byte{0, 2, 7}, buf, block)
					if string(got) != tc.want || !errors.Is(err, tc.err) {
						t.Errorf("buffer %d, would block %v: %q, %v; want %q, %v", buf, block, got, err, tc.want, tc.err)
					}
				}
			}
			want, werr := oracle([]byte(tc.body))
			if string(want) != tc.want || (werr == io.EOF) != (tc.err == io.EOF) {
				t.Errorf("net/http reads %q, %v", want, werr)
			}
		})
	}
}

// TestChunkedOverhead: a sender that spends more than net/http allows on
// framing (a long extension on every 1-byte chunk) is refused.
func TestChunkedOverhead(t *testing.T) {
	body := []byte(strings.Repeat("1;"+strings.Repeat("e", 400)+"\r\nx\r\n", 100) + "0\r\n\r\n")
	if _, err := decodeChunked(body, 0, nil, 512, false); !errors.Is(err, errChunkOverhead) {
		t.Errorf("err %v, want %v", err, errChunkOverhead)
	}
	if _, err := oracle(body); err == io.EOF {
		t.Errorf("net/http accepts it")
	}
}

// FuzzChunked: the in-place decoder gives the data net/http's chunked
// reader gives, and ends cleanly exactly when it does, whatever the reads'
// sizes and the bytes read with the headers.
func FuzzChunked(f *testing.F) {
	for _, s := range []string{
		"5\r\nhello\r\n0\r\n\r\n", "3;x=y\r\nabc\r\n0\r\n", "1\r\na\r\n1\r\nb", "5 \r\nhel", "0\r\n",
		"FFFFFFFFFFFFFFFF\r\n", "8000000000000000\r\nx", "5\nhello", "a\r\n0123456789\r\n0;e\r\n",
	} {
		f.Add([]byte(s), byte(3), []byte{0, 5, 200})
	}
	f.Fuzz(func(t *testing.T, body []byte, pre byte, sizes []byte) {
		want, werr := oracle(body)
		for _, buf := range []int{7, 512} {
			for _, block := range []bool{false, true} {
				got, err := decodeChunked(body, int(pre), sizes, buf, block)
				if (err == io.EOF) != (werr == io.EOF) {
					t.Fatalf("%q (buffer %d, would block %v): ends with %v, net/http with %v", body, buf, block, err, werr)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("%q (buffer %d, would block %v): %q, net/http %q", body, buf, block, got, want)
				}
			}
		}
	})
}
