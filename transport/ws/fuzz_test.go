package ws

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/rtbench/rtbench/transport"
)

// fuzzLimits are the read limits a fuzz input's mode picks from: a small
// one (so that short inputs reach 1009), the default, none, and a tiny one.
var fuzzLimits = [4]int64{100, 0, -1, 16}

// fuzzMode is what the mode byte of a FuzzWSMessage input selects.
type fuzzMode struct {
	strict bool
	limit  int64 // as given to Client.ReadLimit
	piece  int   // the stream is written in pieces of this size; 0: with the 101, in one write
}

func parseFuzzMode(b byte) fuzzMode {
	return fuzzMode{strict: b&1 != 0, limit: fuzzLimits[b>>1&3], piece: int(b >> 3)}
}

// mode is the byte parseFuzzMode reads as m.
func (m fuzzMode) byte() byte {
	b := byte(m.piece) << 3
	for i, l := range fuzzLimits {
		if l == m.limit {
			b |= byte(i) << 1
		}
	}
	if m.strict {
		b |= 1
	}
	return b
}

// FuzzWSMessage feeds any byte stream, as the server's frames after a valid
// 101, to a real session on each client path (Client.Run over loopback:
// lean, and coder/websocket under frameGuard) and checks what it delivers,
// reports and sends back against wsReference, a plain reading of RFC 6455
// §5–8: the same messages (type, payload, size on the wire), in strict mode
// only valid UTF-8 text, every message within the read limit, a pong for
// each ping before the end, the same close reported (the server's valid
// code, or 1002, 1006, 1007, 1009) with the class of the rule broken, clean
// only when the server's own close frame ended it, and the same close frame
// put on the wire. Each input must end within the test bound (a frame that
// declares more than the limit is refused before its payload), and allocate
// a bounded amount (linear in its length, not in the lengths its frames
// claim).
func FuzzWSMessage(f *testing.F) {
	cat := func(frames ...[]byte) []byte { return bytes.Join(frames, nil) }
	text := func(s string) []byte { return frame(true, opText, []byte(s)) }
	length := func(b1 byte, n uint64) []byte { // a binary frame header claiming n bytes
		b := []byte{0x80 | opBinary, b1}
		if b1 == 126 {
			return binary.BigEndian.AppendUint16(b, uint16(n))
		}
		return binary.BigEndian.AppendUint64(b, n)
	}
	plain := fuzzMode{limit: 100}
	strict := fuzzMode{limit: 100, strict: true}
	for _, s := range []struct {
		stream []byte
		m      fuzzMode
	}{
		{cat(text("hello"), closeFrame(1000, "bye")), plain},
		{cat(frame(true, opBinary, []byte{0, 1, 2, 0xff}), closeFrame(1001, "")), plain},
		{cat(frame(false, opText, []byte(`{"seq":`)), frame(true, opPing, []byte("p1")), frame(false, opContinuation, []byte("4")),
			frame(true, opPong, []byte("0")), frame(true, opContinuation, []byte(`2}`)), closeFrame(1000, "")), strict},
		{cat(frame(false, opText, []byte("\xc3")), frame(true, opContinuation, []byte("\xa9")), closeFrame(1000, "")), strict},
		{cat(text("\xff"), text("after")), strict},
		{cat(text("\xff"), closeFrame(1000, "")), plain},
		{cat(text(`{"rtbench_echo":1700000000000000000}`), text(`{"seq":7,"sent_ns":1}`), frame(true, opClose, nil)), plain},
		{closeFrame(4000, "application reason"), plain},
		{closeFrame(1006, ""), plain},
		{frame(true, opClose, []byte{3}), plain},
		{closeFrame(1000, "\xff"), plain},
		{maskedFrame(opText, []byte("hidden")), plain},
		{append([]byte{0xC1, 1}, 'x'), plain},
		{frame(true, 0x3, nil), plain},
		{frame(true, 0xB, nil), plain},
		{frame(false, opPing, []byte("x")), plain},
		{frame(true, opPing, bytes.Repeat([]byte("p"), 126)), plain},
		{frame(true, opContinuation, []byte("x")), plain},
		{cat(frame(false, opText, []byte("a")), text("b")), plain},
		{cat(frame(true, opText, make([]byte, 100)), frame(true, opText, make([]byte, 101))), plain},
		{cat(frame(false, opBinary, make([]byte, 60)), frame(true, opContinuation, make([]byte, 60))), plain},
		{cat(frame(true, opBinary, bytes.Repeat([]byte("y"), 300)), closeFrame(1000, "")), fuzzMode{}},
		{cat(frame(true, opBinary, bytes.Repeat([]byte("z"), 70_000)), closeFrame(1000, "")), fuzzMode{limit: -1, piece: 31}},
		{length(126, 200), plain},
		{length(127, 1<<20), fuzzMode{}},
		{length(127, 1<<31), fuzzMode{limit: -1}},
		{length(127, 1<<62), fuzzMode{limit: -1}},
		{length(127, 1<<63), plain},
		{cat(text("abc"), []byte{0x81}), fuzzMode{limit: 100, piece: 1}},
		{cat(text("a"), frame(true, opPing, nil), text("b"), closeFrame(1000, "")), fuzzMode{limit: 16, piece: 3}},
		{closeFrame(1015, ""), plain},
		{closeFrame(999, "x"), plain},
		{frame(true, 0xC, []byte("abc")), plain},
		{[]byte{0x8B, 5, 'a'}, plain},
		{[]byte{0x82, 101}, plain},
		{cat(frame(false, opText, []byte("\xc3")), frame(true, opContinuation, []byte("("))), strict},
		{cat(frame(true, opText, []byte("ok")), length(127, 1<<63-1)), fuzzMode{piece: 2}},
		{nil, plain},
	} {
		f.Add(s.stream, s.m.byte())
	}
	srv := newFuzzServer(f)
	coderHTTP := &http.Client{Transport: &http.Transport{}}
	f.Cleanup(coderHTTP.CloseIdleConnections)
	f.Fuzz(func(t *testing.T, stream []byte, mode byte) {
		m := parseFuzzMode(mode)
		want := wsReference(stream, m.limit, m.strict)
		t.Run("lean", func(t *testing.T) {
			fuzzSession(t, srv, &Client{HTTP: noHTTPClient, Lean: &Lean{}}, stream, m, want)
		})
		t.Run("coder", func(t *testing.T) {
			fuzzSession(t, srv, &Client{HTTP: coderHTTP}, stream, m, want)
		})
	})
}

// fuzzSession runs c (lean or over coder/websocket) against srv playing
// stream, and checks the outcome against want. coder/websocket does not
// expose frames, so its messages' sizes are counted as one frame each.
func fuzzSession(t *testing.T, srv *fuzzServer, c *Client, stream []byte, m fuzzMode, want wsOutcome) {
	id, seen := srv.expect(stream, m.piece)
	r := newRec()
	c.URL = srv.url + id
	c.ReadLimit, c.AllowInvalidUTF8 = m.limit, !m.strict
	c.Reconnect, c.CloseTimeout = never, wait
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err := c.Run(ctx, r)
	runtime.ReadMemStats(&after)
	if ctx.Err() != nil {
		t.Fatalf("the session did not end within %v", wait)
	}
	// The handshake, the recorder's copies and the server cost a few
	// KiB; what the client's buffer may grow to is twice what arrived.
	if alloc, most := after.TotalAlloc-before.TotalAlloc, uint64(256<<10+8*len(stream)); alloc > most {
		t.Fatalf("%d bytes allocated for a %d-byte stream (at most %d)", alloc, len(stream), most)
	}
	var sw fuzzSeen
	select {
	case sw = <-seen:
	case <-time.After(wait):
		t.Fatalf("the server did not see the connection end within %v", wait)
	}
	if sw.err != "" {
		t.Fatalf("server: %s", sw.err)
	}
	connects, events, errs, closes := r.Snapshot()
	if len(connects) != 1 || len(closes) != 1 {
		t.Fatalf("%d connects and %d closes (Run: %v), want 1 each", len(connects), len(closes), err)
	}
	// The messages, as the reference reads them.
	limit := m.limit
	if limit == 0 {
		limit = DefaultReadLimit
	}
	var got []wsMsg
	for _, e := range events {
		switch e.Kind {
		case transport.KindMessage, transport.KindEcho:
		default:
			t.Fatalf("event of kind %v (%+v), but no ping was sent", e.Kind, e)
		}
		if limit > 0 && int64(len(e.Data)) > limit {
			t.Fatalf("a %d-byte message delivered past the %d-byte limit", len(e.Data), limit)
		}
		if m.strict && e.Type == "text" && !utf8.Valid(e.Data) {
			t.Fatalf("strict mode delivered invalid UTF-8 text %q", e.Data)
		}
		if e.FirstByte.After(e.At) {
			t.Fatalf("first byte %v after the message ended %v", e.FirstByte, e.At)
		}
		got = append(got, wsMsg{text: e.Type == "text", data: e.Data, size: e.Size})
	}
	wantMsgs := want.msgs
	if c.Lean == nil {
		wantMsgs = make([]wsMsg, len(want.msgs))
		for i, w := range want.msgs {
			w.size = len(w.data) + frameHeaderLen(len(w.data))
			wantMsgs[i] = w
		}
	}
	if !sameMsgs(got, wantMsgs) {
		t.Fatalf("messages\n got %s\nwant %s", fmtMsgs(got), fmtMsgs(wantMsgs))
	}
	invalid := 0
	for _, e := range errs {
		if e.Class == transport.ClassInvalidUTF8Text && !e.Fatal {
			invalid++
		}
	}
	if invalid != want.invalid {
		t.Fatalf("%d invalid_utf8_text warnings, want %d", invalid, want.invalid)
	}
	// How it ended, on both sides.
	cl := closes[0]
	if cl.Code != want.code {
		t.Fatalf("close %d %q reported (Run: %v), want %d", cl.Code, cl.Reason, err, want.code)
	}
	if !validCloseCode(websocket.StatusCode(cl.Code)) && cl.Code != 1005 && cl.Code != 1006 {
		t.Fatalf("close code %d reported: not a valid one, 1005 or 1006", cl.Code)
	}
	// Clean only for the server's own close frame with 1000, 1001 or none.
	if clean := want.serverClosed && (cl.Code == 1000 || cl.Code == 1001 || cl.Code == 1005); cl.Clean != clean || (err == nil) != clean {
		t.Fatalf("close %d: clean %v, Run error %v", cl.Code, cl.Clean, err)
	}
	// The class says which rule failed the connection.
	if wantClass, ok := fuzzClasses[want.code]; ok && !want.serverClosed {
		var e *transport.Error
		if !errors.As(err, &e) || e.Class != wantClass || e.Code != want.code {
			t.Fatalf("Run: %v, want %s (%d)", err, wantClass, want.code)
		}
	}
	if sw.close != want.sent {
		t.Fatalf("the client sent close %d, want %d (-1: none, -2: no code)", sw.close, want.sent)
	}
	if !slicesEqual(sw.pongs, want.pongs) {
		t.Fatalf("pongs %q, want %q", sw.pongs, want.pongs)
	}
}

// fuzzClasses is the class of each close the client starts.
var fuzzClasses = map[int]transport.Class{
	1002: transport.ClassWSProtocol,
	1006: transport.ClassWSAbnormal,
	1007: transport.ClassInvalidUTF8Text,
	1009: transport.ClassMessageTooBig,
}

// wsMsg is one delivered message.
type wsMsg struct {
	text bool
	data []byte
	size int // its frames' bytes on the wire
}

func sameMsgs(a, b []wsMsg) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].text != b[i].text || a[i].size != b[i].size || !bytes.Equal(a[i].data, b[i].data) {
			return false
		}
	}
	return true
}

func fmtMsgs(ms []wsMsg) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "[text %v, %d bytes on the wire: %.60q] ", m.text, m.size, m.data)
	}
	return b.String()
}

func slicesEqual(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// wsOutcome is how a client reads a server's stream.
type wsOutcome struct {
	msgs    []wsMsg
	invalid int      // text messages with invalid UTF-8, delivered (not strict)
	pongs   [][]byte // the pongs sent, in order
	code    int      // the close the session reports
	sent    int      // the close code the client sends; -1: no close frame, -2: one without a code
	// serverClosed: the server's valid close frame ended it (code is the
	// server's); only then may the close be clean.
	serverClosed bool
}

// wsReference reads stream frame by frame, as RFC 6455 says a client must:
// §5.2 framing (RSV bits 0, no mask from a server, the 64-bit length's most
// significant bit 0), §5.4 fragmentation (control frames between fragments),
// §5.5 control frames (at most 125 bytes, not fragmented; ping answered by
// a pong with its payload), §7.4 close codes and §8.1 UTF-8. A broken rule
// fails the connection with 1002, a message over limit with 1009, invalid
// UTF-8 text (unless allowed) or close reason with 1007; a stream that ends
// first is 1006. Where two failures are possible, the one found first when
// bytes are read in order wins: a header is judged once it is whole (its
// opcode, and a data frame's declared length against the limit, the
// message so far included: 2 GiB without a limit), before its payload
// arrives.
func wsReference(stream []byte, limit int64, strict bool) wsOutcome {
	o := wsOutcome{sent: -1}
	if limit == 0 {
		limit = DefaultReadLimit
	}
	fail := func(code int) wsOutcome {
		o.code, o.sent = code, code
		return o
	}
	abnormal := func() wsOutcome {
		o.code = 1006
		return o
	}
	p := stream
	var msg []byte
	inMsg, text, size := false, false, 0
	for {
		if len(p) < 2 {
			return abnormal()
		}
		fin, rsv, op, masked := p[0]&0x80 != 0, p[0]&0x70, p[0]&0x0f, p[1]&0x80 != 0
		n, hdr := uint64(p[1]&0x7f), 2
		switch n {
		case 126:
			hdr = 4
		case 127:
			hdr = 10
		}
		if len(p) < hdr {
			return abnormal()
		}
		switch hdr {
		case 4:
			n = uint64(binary.BigEndian.Uint16(p[2:]))
		case 10:
			n = binary.BigEndian.Uint64(p[2:])
		}
		if n>>63 != 0 || rsv != 0 || masked || op > opBinary && op < opClose || op > opPong {
			return fail(1002)
		}
		if op&0x8 != 0 {
			if !fin || n > 125 {
				return fail(1002)
			}
			if uint64(len(p)-hdr) < n {
				return abnormal()
			}
			payload := p[hdr : hdr+int(n)]
			p = p[hdr+int(n):]
			switch op {
			case opPing:
				o.pongs = append(o.pongs, payload)
			case opPong:
			default: // opClose
				switch {
				case len(payload) == 0:
					o.code, o.sent, o.serverClosed = 1005, -2, true
					return o
				case len(payload) == 1:
					return fail(1002)
				}
				code := int(binary.BigEndian.Uint16(payload))
				if !(code >= 1000 && code <= 1003 || code >= 1007 && code <= 1014 || code >= 3000 && code <= 4999) {
					return fail(1002)
				}
				if !utf8.Valid(payload[2:]) {
					return fail(1007)
				}
				o.code, o.sent, o.serverClosed = code, code, true
				return o
			}
			continue
		}
		switch {
		case op == opContinuation && !inMsg, op != opContinuation && inMsg:
			return fail(1002)
		}
		if !inMsg {
			inMsg, text = true, op == opText
		}
		if limit >= 0 && uint64(len(msg))+n > uint64(limit) || limit < 0 && uint64(len(msg))+n > math.MaxInt32 {
			return fail(1009)
		}
		if uint64(len(p)-hdr) < n {
			return abnormal()
		}
		size += hdr + int(n)
		msg = append(msg, p[hdr:hdr+int(n)]...)
		p = p[hdr+int(n):]
		if !fin {
			continue
		}
		if text && !utf8.Valid(msg) {
			if strict {
				return fail(1007)
			}
			o.invalid++
		}
		if msg == nil {
			msg = []byte{}
		}
		o.msgs = append(o.msgs, wsMsg{text: text, data: msg, size: size})
		msg, inMsg, size = nil, false, 0
	}
}

// fuzzServer is one loopback listener for every input of a fuzz process:
// it answers the handshake of GET /<id> with a 101, writes that input's
// stream, half-closes, and reads what the client sends until it closes.
type fuzzServer struct {
	url  string // ws://127.0.0.1:port/
	ln   net.Listener
	next atomic.Int64
	jobs sync.Map // "/<id>" → *fuzzJob
	wg   sync.WaitGroup
}

type fuzzJob struct {
	stream []byte
	piece  int
	seen   chan fuzzSeen
}

// fuzzSeen is what the server read from the client.
type fuzzSeen struct {
	pongs [][]byte
	close int    // the close frame's code; -1: none, -2: one without a code
	err   string // a frame the client must not send
}

func newFuzzServer(f *testing.F) *fuzzServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	s := &fuzzServer{url: "ws://" + ln.Addr().String() + "/", ln: ln}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Go(func() { s.serve(c) })
		}
	})
	f.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

// expect registers the next input: the path to dial, and where the server
// reports what it saw.
func (s *fuzzServer) expect(stream []byte, piece int) (string, <-chan fuzzSeen) {
	id := strconv.FormatInt(s.next.Add(1), 10)
	j := &fuzzJob{stream: stream, piece: piece, seen: make(chan fuzzSeen, 1)}
	s.jobs.Store("/"+id, j)
	return id, j.seen
}

func (s *fuzzServer) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(wait))
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	v, ok := s.jobs.LoadAndDelete(req.URL.Path)
	if !ok {
		return
	}
	j := v.(*fuzzJob)
	sw := fuzzSeen{close: -1}
	defer func() { j.seen <- sw }()
	resp := []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		acceptKey(req.Header.Get("Sec-WebSocket-Key")) + "\r\n\r\n")
	read := make(chan struct{})
	go func() {
		defer close(read)
		for {
			op, p, err := readClientFrame(br)
			if err != nil {
				if err.Error() == "client frame not masked" {
					sw.err = err.Error()
				}
				return
			}
			switch {
			case sw.close != -1:
				sw.err = fmt.Sprintf("a frame (opcode %#x) after the close frame", op)
				return
			case op == opPong:
				sw.pongs = append(sw.pongs, p)
			case op == opClose && len(p) == 0:
				sw.close = -2
			case op == opClose && len(p) >= 2:
				sw.close = int(binary.BigEndian.Uint16(p))
			default:
				sw.err = fmt.Sprintf("unexpected frame: opcode %#x, %d bytes", op, len(p))
				return
			}
		}
	}()
	if j.piece == 0 {
		c.Write(append(resp, j.stream...))
	} else if _, err := c.Write(resp); err == nil {
		for p := j.stream; len(p) > 0; {
			k := min(j.piece, len(p))
			if _, err := c.Write(p[:k]); err != nil {
				break
			}
			p = p[k:]
		}
	}
	c.(*net.TCPConn).CloseWrite()
	<-read
}

// FuzzWSEcho checks the two numbers the client reads from payloads without
// allocating against strconv: the send time of an echoed stamp (parseEcho:
// up to 19 digits after the prefix, and only a value that fits an int64) and
// a pong's ping number (parseSeq: 1 to 18 digits, nothing else).
func FuzzWSEcho(f *testing.F) {
	for _, s := range []string{
		`{"rtbench_echo":1700000000123456789}`, `{"rtbench_echo":1700000000123456789,"pad":"xx"}`,
		`{"rtbench_echo":9223372036854775807}`, `{"rtbench_echo":9223372036854775808}`,
		`{"rtbench_echo":99999999999999999999}`, `{"rtbench_echo":-1}`, `{"rtbench_echo":}`, `{"rtbench_echo"`,
		"0", "1", "42", "999999999999999999", "1000000000000000000", "-5", "1a", "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, ok := parseEcho(b)
		digits, isEcho := bytes.CutPrefix(b, []byte(echoPrefix))
		if isEcho {
			k := 0
			for k < len(digits) && k < 19 && digits[k] >= '0' && digits[k] <= '9' {
				k++
			}
			digits = digits[:k]
		}
		want, err := strconv.ParseInt(string(digits), 10, 64)
		if wantOK := isEcho && len(digits) > 0 && err == nil; ok != wantOK || ok && n != want {
			t.Fatalf("parseEcho(%q) = %d, %v; want %d, %v", b, n, ok, want, wantOK)
		}

		seq, ok := parseSeq(b)
		want, err = strconv.ParseInt(string(b), 10, 64)
		allDigits := len(b) > 0 && len(b) <= 18 && !bytes.ContainsFunc(b, func(r rune) bool { return r < '0' || r > '9' })
		if ok != allDigits || ok && (err != nil || seq != want) {
			t.Fatalf("parseSeq(%q) = %d, %v; want %d (%v), %v", b, seq, ok, want, err, allDigits)
		}
	})
}
