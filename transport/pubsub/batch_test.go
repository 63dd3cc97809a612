package pubsub

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// writesConn records each Write that reaches the connection.
type writesConn struct {
	net.Conn
	mu     sync.Mutex
	writes []string
	err    error
}

func (c *writesConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	c.writes = append(c.writes, string(p))
	return len(p), nil
}

func TestBatchConn(t *testing.T) {
	broken := errors.New("broken pipe")
	tests := []struct {
		name string
		run  func(c *BatchConn) error
		err  error
		want []string
	}{
		{"uncorked writes go through one by one", func(c *BatchConn) error {
			c.Write([]byte("a"))
			c.Write([]byte("b"))
			return nil
		}, nil, []string{"a", "b"}},
		{"corked writes leave in one write", func(c *BatchConn) error {
			c.Cork()
			c.Write([]byte("a"))
			c.Write([]byte("bc"))
			c.Write([]byte("d"))
			return c.Uncork()
		}, nil, []string{"abcd"}},
		{"nothing held: uncork writes nothing", func(c *BatchConn) error {
			c.Cork()
			return c.Uncork()
		}, nil, nil},
		{"after uncork writes go through again", func(c *BatchConn) error {
			c.Cork()
			c.Write([]byte("a"))
			c.Write([]byte("b"))
			err := c.Uncork()
			c.Write([]byte("c"))
			return err
		}, nil, []string{"ab", "c"}},
		{"a backlog longer than a batch leaves in batch-sized writes", func(c *BatchConn) error {
			c.Cork()
			half := []byte(strings.Repeat("x", batchSize/2))
			c.Write(half)
			c.Write(half)
			c.Write([]byte("y"))
			if err := c.Uncork(); err != nil {
				return err
			}
			if c.buf != nil {
				return errors.New("the buffer was not given back")
			}
			return nil
		}, nil, []string{strings.Repeat("x", batchSize), "y"}},
		{"a write larger than a batch goes straight out after what was held", func(c *BatchConn) error {
			c.Cork()
			c.Write([]byte("a"))
			c.Write([]byte(strings.Repeat("z", batchSize)))
			c.Write([]byte("b"))
			return c.Uncork()
		}, nil, []string{"a", strings.Repeat("z", batchSize), "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wc := &writesConn{}
			c := &BatchConn{Conn: wc}
			if err := tt.run(c); !errors.Is(err, tt.err) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if strings.Join(wc.writes, "|") != strings.Join(tt.want, "|") || len(wc.writes) != len(tt.want) {
				t.Errorf("writes %q, want %q", wc.writes, tt.want)
			}
		})
	}
	t.Run("the failed write's error comes from Uncork", func(t *testing.T) {
		wc := &writesConn{err: broken}
		c := &BatchConn{Conn: wc}
		c.Cork()
		if n, err := c.Write([]byte("held")); n != 4 || err != nil {
			t.Fatalf("corked write: %d, %v", n, err)
		}
		if err := c.Uncork(); !errors.Is(err, broken) {
			t.Fatalf("Uncork: %v, want %v", err, broken)
		}
	})
}

// A write from another goroutine while corked joins the batch whole and in
// order with the corking goroutine's: the race detector and the content
// check both watch it.
func TestBatchConnConcurrentWrite(t *testing.T) {
	wc := &writesConn{}
	c := &BatchConn{Conn: wc}
	c.Cork()
	c.Write([]byte("1"))
	var wg sync.WaitGroup
	wg.Go(func() { c.Write([]byte("pong")) })
	wg.Wait()
	c.Write([]byte("2"))
	if err := c.Uncork(); err != nil {
		t.Fatal(err)
	}
	if len(wc.writes) != 1 || wc.writes[0] != "1pong2" {
		t.Fatalf("writes %q, want one write 1pong2", wc.writes)
	}
}

// Hijacker hands out a BatchConn under net/http's own buffered writer: the
// upgrade answer written before the hijack and the frames after it reach
// the client in order, the held ones in one piece.
func TestHijacker(t *testing.T) {
	got := make(chan *BatchConn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hj := &Hijacker{ResponseWriter: w}
		if hj.Unwrap() != w {
			t.Error("Unwrap does not return the writer below")
		}
		conn, brw, err := hj.Hijack()
		if err != nil {
			t.Error(err)
			got <- nil
			return
		}
		if conn != hj.Conn {
			t.Error("Hijack's conn is not Conn")
		}
		brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\n")
		brw.Flush()
		hj.Conn.Cork()
		brw.WriteString("one")
		brw.Flush()
		brw.WriteString("two")
		brw.Flush()
		hj.Conn.Write([]byte("three"[:4]))
		hj.Conn.Uncork()
		got <- hj.Conn
		conn.Close()
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "onetwothr" {
		t.Fatalf("body %q, want onetwothr", body)
	}
	if <-got == nil {
		t.Fatal("no BatchConn")
	}
}
