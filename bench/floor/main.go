// Command floor is the floor reader of bench/scripts/stream-peers.sh: the
// least a Go program can do to hold the same stream connections as
// `rtbench load` and see every message. It is what the CPU per delivered
// message of a stream client is measured against.
//
//	floor -url http://127.0.0.1:18096/sse?rate=10 -c 5000 -ramp 1000 -d 20s
//	floor -url ws://127.0.0.1:18096/ws?rate=10 -c 5000 -ramp 1000 -d 20s
//
// Each connection is one goroutine and one 4 KiB buffer. It writes a GET
// (with the WebSocket upgrade headers for ws://), reads the response head up
// to its blank line, checks the status (200 for SSE, 101 for WebSocket), then
// reads into the buffer until the run ends, counting messages and parsing
// nothing:
//
//   - SSE: one message per "\n\n" (the blank line that ends an event) in the
//     raw bytes, chunked framing included. rtbench serve writes and flushes
//     each event whole, so an event's blank line is never split by a chunk
//     boundary; heartbeat comments count as messages too (one per 15 s).
//   - WebSocket: one message per frame, found from the frame header's length
//     (2, 4 or 10 bytes, unmasked from a server); payloads are skipped.
//
// Connections open at -ramp per second, as `rtbench load --ramp` opens them;
// the run lasts -d from the start. At the end it prints one JSON line:
// {"conns":N,"failed":F,"messages":M,"bytes":B,"duration_s":S}. Loopback
// only: the host must be 127.0.0.1, ::1 or localhost.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "floor: %v\n", err)
		os.Exit(2)
	}
}

type result struct {
	Conns     int64   `json:"conns"`
	Failed    int64   `json:"failed"`
	Messages  int64   `json:"messages"`
	Bytes     int64   `json:"bytes"`
	DurationS float64 `json:"duration_s"`
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("floor", flag.ContinueOnError)
	raw := fs.String("url", "", "stream URL: http://…/sse?… or ws://…/ws?… on a loopback host")
	conns := fs.Int("c", 1, "connections")
	ramp := fs.Float64("ramp", 1000, "connections opened per second")
	dur := fs.Duration("d", 10*time.Second, "run duration, from the start")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(*raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "ws") {
		return fmt.Errorf("-url %q: want an http:// or ws:// URL", *raw)
	}
	if h := u.Hostname(); h != "127.0.0.1" && h != "::1" && h != "localhost" {
		return fmt.Errorf("-url %q: the floor reader loads only loopback hosts", *raw)
	}
	if *conns < 1 || *ramp <= 0 || *dur <= 0 {
		return errors.New("-c, -ramp and -d must be positive")
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	head := request(u)
	ws := u.Scheme == "ws"

	start := time.Now()
	deadline := start.Add(*dur)
	var res result
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	gap := time.Duration(float64(time.Second) / *ramp)
	for i := 0; i < *conns && time.Now().Before(deadline); i++ {
		if d := time.Until(start.Add(time.Duration(i) * gap)); d > 0 {
			time.Sleep(d)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				atomic.AddInt64(&res.Failed, 1)
				return
			}
			mu.Lock()
			open = append(open, nc)
			mu.Unlock()
			nc.SetDeadline(deadline)
			m, b, err := hold(nc, head, ws)
			nc.Close()
			if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				atomic.AddInt64(&res.Failed, 1)
			} else {
				atomic.AddInt64(&res.Conns, 1)
			}
			atomic.AddInt64(&res.Messages, m)
			atomic.AddInt64(&res.Bytes, b)
		}()
	}
	time.Sleep(time.Until(deadline))
	mu.Lock()
	for _, c := range open { // a read that has not seen its deadline yet
		c.SetDeadline(time.Now())
	}
	mu.Unlock()
	wg.Wait()
	res.DurationS = time.Since(start).Seconds()
	return json.NewEncoder(out).Encode(res)
}

// request is the GET each connection writes.
func request(u *url.URL) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: rtbench-floor\r\n", u.RequestURI(), u.Host)
	if u.Scheme == "ws" {
		// A fixed key: the floor does not check Sec-WebSocket-Accept.
		b.WriteString("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")
	} else {
		b.WriteString("Accept: text/event-stream\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// hold writes head, checks the response's status, then counts messages
// until the connection fails (its deadline, at the run's end).
func hold(nc net.Conn, head []byte, ws bool) (msgs, n int64, err error) {
	if _, err := nc.Write(head); err != nil {
		return 0, 0, err
	}
	br := bufio.NewReaderSize(nc, 4096)
	status, err := br.ReadSlice('\n')
	if err != nil {
		return 0, 0, err
	}
	want := []byte(" 200 ")
	if ws {
		want = []byte(" 101 ")
	}
	if !bytes.Contains(status, want) {
		return 0, 0, fmt.Errorf("status line %q", bytes.TrimSpace(status))
	}
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return 0, 0, err
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			break
		}
	}
	// What the head's reader already holds is counted first, then the
	// connection is read into the same 4 KiB.
	buf := make([]byte, 4096)
	k := copy(buf, peekAll(br))
	if ws {
		return countFrames(nc, buf, k)
	}
	return countEvents(nc, buf, k)
}

func peekAll(br *bufio.Reader) []byte {
	p, _ := br.Peek(br.Buffered())
	return p
}

// countEvents counts "\n\n" in what r sends (non-overlapping, from the
// left, across reads); buf[:k] is already read.
func countEvents(r io.Reader, buf []byte, k int) (msgs, total int64, err error) {
	pending := false // the last byte read is a '\n' not yet paired
	p := buf[:k]
	for {
		total += int64(len(p))
		for q := p; len(q) > 0; {
			if pending {
				pending = false
				if q[0] == '\n' {
					msgs++
					q = q[1:]
					continue
				}
			}
			i := bytes.Index(q, []byte("\n\n"))
			if i < 0 {
				pending = q[len(q)-1] == '\n'
				break
			}
			msgs++
			q = q[i+2:]
		}
		n, err := r.Read(buf)
		if err != nil {
			return msgs, total, err
		}
		p = buf[:n]
	}
}

// countFrames counts WebSocket frames in what r sends, skipping their
// payloads; buf[:k] is already read.
func countFrames(r io.Reader, buf []byte, k int) (msgs, total int64, err error) {
	have := k      // bytes in buf[:have] not consumed yet start at 0
	var skip int64 // payload bytes still to skip
	off := 0
	for {
		for {
			if skip > 0 {
				s := min(skip, int64(have-off))
				skip -= s
				off += int(s)
				if skip > 0 {
					break
				}
			}
			h, size := header(buf[off:have])
			if h == 0 {
				break // an incomplete header: read more
			}
			msgs++
			off += h
			skip = size
		}
		// Keep an incomplete header at the buffer's start.
		rest := copy(buf, buf[off:have])
		off, have = 0, rest
		n, err := r.Read(buf[have:])
		total += int64(n)
		if err != nil {
			return msgs, total + int64(k), err
		}
		have += n
	}
}

// header returns the length of the frame header at p's start and the
// payload's size, or 0 when p does not hold a whole header.
func header(p []byte) (int, int64) {
	if len(p) < 2 {
		return 0, 0
	}
	l := int64(p[1] & 0x7f)
	h := 2
	switch l {
	case 126:
		if len(p) < 4 {
			return 0, 0
		}
		l, h = int64(p[2])<<8|int64(p[3]), 4
	case 127:
		if len(p) < 10 {
			return 0, 0
		}
		l = 0
		for _, b := range p[2:10] {
			l = l<<8 | int64(b)
		}
		h = 10
	}
	if p[1]&0x80 != 0 {
		h += 4 // a masking key (a server's frames have none)
	}
	if len(p) < h {
		return 0, 0
	}
	return h, l
}
