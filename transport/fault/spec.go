package fault

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Limits of the grammar's arguments, so one request cannot make the mock hold
// a connection, or send bytes, without bound.
const (
	MaxDelay     = time.Hour // delay:, stall:, slow-read:
	MaxCount     = 1_000_000 // the N of stall:N, reset:N, … (events or messages)
	MaxOversized = 64 << 20  // oversized:BYTES
	MaxBOM       = 4         // bom:N
	MaxBurst     = 100_000   // burst:N
)

// LineStyle is the line ending an event stream is written with.
type LineStyle uint8

const (
	LineLF    LineStyle = iota // "\n", as rtbench writes streams (no fault)
	LineCR                     // "\r"
	LineCRLF                   // "\r\n"
	LineMixed                  // "\n", "\r", "\r\n" in turn
)

// Spec is a set of faults to inject into one response. The zero value injects
// none. Every "After" count N means: N events (or WebSocket messages) go out
// normally first, then the fault acts; 0 means before the first one.
type Spec struct {
	// None ("none") injects nothing and keeps the server-wide default off
	// this request.
	None bool

	// HTTP, every route.
	Status      int           // status:CODE[:RETRY_AFTER_S] — answer CODE instead
	RetryAfter  int           // Retry-After seconds sent with Status (default 1 for 429 and 503)
	ContentType string        // content-type:TYPE — the response's Content-Type replaced
	Delay       time.Duration // delay:DURATION — wait before the handler (and its headers)
	Reset       bool          // reset[:N] — TCP RST (SO_LINGER 0), no FIN, no close frame
	ResetAfter  int
	SlowRead    time.Duration // slow-read:DURATION — pause before each read of the body or a WS message

	// Event streams (/sse, /api/stream, the AI routes).
	Line             LineStyle     // line:cr|lf|crlf|mixed
	BOM              int           // bom[:N] — N byte-order marks before the stream (default 1)
	Stall            bool          // stall[:N[:DURATION]] — after N events, silence (no heartbeats)
	StallAfter       int           //   for DURATION, or until the client leaves (0)
	StallFor         time.Duration //
	Cut              bool          // close-mid-event[:N] — after N events, half an event and the end
	CutAfter         int
	Oversized        int  // oversized:BYTES — one event (or WS message) of BYTES before the first
	InvalidUTF8      bool // invalid-utf8[:N] — after N events (messages), one with bytes FF FE
	InvalidUTF8After int
	Burst            int           // burst:N — hold events, send them N at a time (a buffering proxy)
	BurstEvery       time.Duration // burst:DURATION — or all at once every DURATION
	Gzip             bool          // gzip — Content-Encoding: gzip, each event flushed through the compressor
	NoStream         bool          // no-stream[:N] — the whole response held, then sent with a Content-Length
	NoStreamAfter    int           //   when the handler ends, or after N events (which then ends it)
	BareHeaders      bool          // bare-headers — no Cache-Control and no X-Accel-Buffering

	// AI streams.
	EmptyDelta   bool // empty-delta — the first content delta is empty
	BadJSON      bool // bad-json[:N] — after N content chunks, one truncated JSON chunk
	BadJSONAfter int
	NoDone       bool // no-done — no [DONE] (OpenAI, /api/chat) or message_stop (Anthropic)

	// WebSocket.
	Close       bool // ws-close:CODE[:N[:REASON]] — after N messages, close with CODE and REASON
	CloseCode   int
	CloseAfter  int
	CloseReason string
	NoPong      bool // no-pong — never read, so pings go unanswered (and close frames unseen)
}

// IsZero reports whether s injects nothing.
func (s *Spec) IsZero() bool { return *s == Spec{} || s.None }

// Parse parses a comma-separated fault list (see Help).
func Parse(list string) (Spec, error) {
	var s Spec
	err := s.Add(list)
	return s, err
}

// Add parses list into s; later faults override earlier ones of the same name.
// Errors quote the item at fault and say what to send instead.
func (s *Spec) Add(list string) error {
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if err := s.add(item); err != nil {
			return fmt.Errorf("fault %q: %w", item, err)
		}
	}
	return nil
}

func (s *Spec) add(item string) error {
	name, arg, hasArg := strings.Cut(item, ":")
	args := []string(nil)
	if hasArg {
		args = strings.Split(arg, ":")
	}
	want := func(n int, usage string) error {
		if len(args) > n {
			return fmt.Errorf("too many arguments; want %s", usage)
		}
		return nil
	}
	var err error
	switch strings.ToLower(name) {
	case "none":
		if err = want(0, "none"); err == nil {
			s.None = true
		}
	case "status":
		const usage = "status:CODE or status:CODE:RETRY_AFTER_SECONDS, CODE from 200 to 599, e.g. status:503"
		if len(args) == 0 {
			return fmt.Errorf("want %s", usage)
		}
		if err = want(2, usage); err != nil {
			return err
		}
		if s.Status, err = count(args[0], 200, 599, usage); err != nil {
			return err
		}
		s.RetryAfter = 0
		if len(args) == 2 {
			s.RetryAfter, err = count(args[1], 0, 86400, usage)
		}
	case "content-type":
		if strings.TrimSpace(arg) == "" || strings.ContainsAny(arg, "\r\n") {
			return fmt.Errorf("want content-type:TYPE, e.g. content-type:text/html")
		}
		s.ContentType = strings.TrimSpace(arg) // may contain ':' or ';'
	case "delay":
		const usage = "delay:DURATION, e.g. delay:2s (at most 1h)"
		if len(args) != 1 {
			return fmt.Errorf("want %s", usage)
		}
		s.Delay, err = duration(args[0], usage)
	case "reset":
		s.Reset = true
		s.ResetAfter, err = optCount(args, "reset or reset:N (after N events or messages)")
	case "slow-read":
		const usage = "slow-read:DURATION, e.g. slow-read:50ms"
		if len(args) != 1 {
			return fmt.Errorf("want %s", usage)
		}
		s.SlowRead, err = duration(args[0], usage)
	case "line":
		if len(args) != 1 {
			return fmt.Errorf("want line:cr, line:lf, line:crlf or line:mixed")
		}
		switch strings.ToLower(args[0]) {
		case "lf":
			s.Line = LineLF
		case "cr":
			s.Line = LineCR
		case "crlf":
			s.Line = LineCRLF
		case "mixed":
			s.Line = LineMixed
		default:
			return fmt.Errorf("line style %q: want cr, lf, crlf or mixed", args[0])
		}
	case "bom":
		s.BOM = 1
		if len(args) > 0 {
			s.BOM, err = count(args[0], 1, MaxBOM, fmt.Sprintf("bom or bom:N, N from 1 to %d", MaxBOM))
		}
		if err == nil {
			err = want(1, "bom or bom:N")
		}
	case "stall":
		const usage = "stall, stall:N or stall:N:DURATION (after N events, silence for DURATION or until the client leaves)"
		if err = want(2, usage); err != nil {
			return err
		}
		s.Stall, s.StallFor = true, 0
		if s.StallAfter, err = optCount(args[:min(len(args), 1)], usage); err == nil && len(args) == 2 {
			s.StallFor, err = duration(args[1], usage)
		}
	case "close-mid-event":
		s.Cut = true
		s.CutAfter, err = optCount(args, "close-mid-event or close-mid-event:N (after N events)")
	case "oversized":
		usage := fmt.Sprintf("oversized:BYTES, from 1 to %d", MaxOversized)
		if len(args) != 1 {
			return fmt.Errorf("want %s", usage)
		}
		s.Oversized, err = count(args[0], 1, MaxOversized, usage)
	case "invalid-utf8":
		s.InvalidUTF8 = true
		s.InvalidUTF8After, err = optCount(args, "invalid-utf8 or invalid-utf8:N (after N events or messages)")
	case "burst":
		const usage = "burst:N (events per burst) or burst:DURATION (hold time), e.g. burst:10 or burst:500ms"
		if len(args) != 1 {
			return fmt.Errorf("want %s", usage)
		}
		s.Burst, s.BurstEvery = 0, 0
		if _, perr := strconv.Atoi(args[0]); perr == nil {
			s.Burst, err = count(args[0], 2, MaxBurst, usage)
		} else {
			s.BurstEvery, err = duration(args[0], usage)
		}
	case "gzip":
		s.Gzip = true
		err = want(0, "gzip")
	case "no-stream":
		s.NoStream = true
		s.NoStreamAfter, err = optCount(args, "no-stream or no-stream:N (send the first N events as one finite body)")
	case "bare-headers":
		s.BareHeaders = true
		err = want(0, "bare-headers")
	case "empty-delta":
		s.EmptyDelta = true
		err = want(0, "empty-delta")
	case "bad-json":
		s.BadJSON = true
		s.BadJSONAfter, err = optCount(args, "bad-json or bad-json:N (after N content chunks)")
	case "no-done":
		s.NoDone = true
		err = want(0, "no-done")
	case "ws-close":
		const usage = "ws-close:CODE, ws-close:CODE:N or ws-close:CODE:N:REASON, e.g. ws-close:1013:5:try again later"
		if len(args) == 0 {
			return fmt.Errorf("want %s", usage)
		}
		code, cerr := count(args[0], 1000, 4999, usage)
		if cerr != nil {
			return cerr
		}
		if !sendableClose(code) {
			return fmt.Errorf("close code %d cannot be sent on the wire (1004-1006 and 1015 are reserved; use 1000-1003, 1007-1014 or 3000-4999)", code)
		}
		s.Close, s.CloseCode, s.CloseAfter, s.CloseReason = true, code, 0, ""
		if len(args) > 1 {
			if s.CloseAfter, err = count(args[1], 0, MaxCount, usage); err != nil {
				return err
			}
		}
		if len(args) > 2 {
			s.CloseReason = strings.Join(args[2:], ":")
			if len(s.CloseReason) > 123 {
				return fmt.Errorf("reason is %d bytes; a close reason holds at most 123", len(s.CloseReason))
			}
		}
	case "no-pong":
		s.NoPong = true
		err = want(0, "no-pong")
	default:
		return fmt.Errorf("unknown fault %q; known: %s", name, strings.Join(Names, ", "))
	}
	return err
}

// Names lists every fault of the grammar.
var Names = []string{
	"none", "status", "content-type", "delay", "reset", "slow-read",
	"line", "bom", "stall", "close-mid-event", "oversized", "invalid-utf8", "burst",
	"gzip", "no-stream", "bare-headers",
	"empty-delta", "bad-json", "no-done", "ws-close", "no-pong",
}

func sendableClose(code int) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014, code >= 3000 && code <= 4999:
		return true
	}
	return false
}

func count(v string, lo, hi int, usage string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%q is not a whole number from %d to %d; want %s", v, lo, hi, usage)
	}
	return n, nil
}

// optCount reads an optional N (default 0).
func optCount(args []string, usage string) (int, error) {
	switch len(args) {
	case 0:
		return 0, nil
	case 1:
		return count(args[0], 0, MaxCount, usage)
	}
	return 0, fmt.Errorf("too many arguments; want %s", usage)
}

func duration(v, usage string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > MaxDelay {
		return 0, fmt.Errorf("%q is not a duration from 0 to 1h; want %s", v, usage)
	}
	return d, nil
}

// Help documents the grammar, for `rtbench serve --help`.
const Help = `Fault injection: add ?fault=LIST (repeatable) or an X-RTBench-Fault: LIST header to
any request, or --fault LIST [--fault-rate P --fault-seed S] for a share of all requests.
LIST is comma-separated NAME[:ARG[:ARG]]; N counts events (WebSocket: pushed messages)
sent normally before the fault acts, default 0. A bad LIST is answered 400.
  status:CODE[:RETRY_AFTER]   answer CODE (3xx: Location without the fault; 429/503: Retry-After 1)
  content-type:TYPE           replace the Content-Type (e.g. text/html)
  delay:DURATION              hold the request before any header is sent
  reset[:N]                   TCP RST (SO_LINGER 0): no FIN, no chunk end, no close frame
  slow-read:DURATION          read the request body / WebSocket messages slowly (a lagging consumer)
  line:cr|lf|crlf|mixed       event streams: line endings
  bom[:N]                     event streams: N byte-order marks first (default 1)
  stall[:N[:DURATION]]        after N events: silence, no heartbeats, for DURATION or until the client leaves
  close-mid-event[:N]         event streams: after N events, half an event, then the end of the body
  oversized:BYTES             one event (WebSocket: one text message) of BYTES first
  invalid-utf8[:N]            after N events/messages, one carrying bytes FF FE
  burst:N | burst:DURATION    event streams: hold events, flush N at a time or every DURATION (a buffering proxy)
  gzip                        event streams: Content-Encoding: gzip whatever the request accepts, flushed per event
  no-stream[:N]               event streams: hold the response, send it whole with a Content-Length when it
                              ends or after N events (give N or count= on endless routes such as /sse)
  bare-headers                event streams: no Cache-Control and no X-Accel-Buffering headers
  empty-delta                 AI routes: an empty first content delta
  bad-json[:N]                AI routes: after N content chunks, a truncated JSON chunk
  no-done                     AI routes: no [DONE] / message_stop
  ws-close:CODE[:N[:REASON]]  /ws: after N messages, close with CODE and REASON
  no-pong                     /ws: stop reading, so pings go unanswered
  none                        no fault, and not the --fault default either`
