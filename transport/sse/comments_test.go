package sse

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestParserComments: with Comments, comment lines come out in stream order
// between the events, one leading space removed, without disturbing the
// event they interrupt; without it they are only traffic.
func TestParserComments(t *testing.T) {
	const in = ": hello\ndata: a\n:\n:  two spaces\ndata: b\n\n:x\r\n"
	for _, comments := range []bool{true, false} {
		for _, oneByte := range []bool{false, true} {
			var r io.Reader = strings.NewReader(in)
			if oneByte {
				r = iotest.OneByteReader(r)
			}
			lines := 0
			p := NewParser(r, ParserOptions{Comments: comments, OnLine: func() { lines++ }})
			var got []string
			for {
				ev, err := p.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, fmt.Sprintf("%v:%q", ev.Comment, ev.Data))
			}
			want := `[true:"hello" true:"" true:" two spaces" false:"a\nb" true:"x"]`
			if !comments {
				want = `[false:"a\nb"]`
			}
			if fmt.Sprint(got) != want || lines != 7 {
				t.Errorf("comments %v, one byte %v: %v (%d lines), want %s (7 lines)", comments, oneByte, got, lines, want)
			}
		}
	}
}
