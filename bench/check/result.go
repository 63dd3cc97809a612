package check

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Version is the schema of the JSON `rtbench check --json` prints.
const Version = "rtbench.check/v1"

// Verdict is an Outcome's judgement.
type Verdict string

const (
	Pass Verdict = "pass"
	Fail Verdict = "fail"
	// Warn is a detector's finding that deserves a look but does not fail
	// the check (missing anti-buffering headers, invalid UTF-8 in an event
	// stream, which clients repair).
	Warn Verdict = "warn"
	// Skip is an assertion that could not be judged: the response was not
	// usable, or a detector had too little to go on.
	Skip Verdict = "skip"
)

// Outcome kinds: the assertions, then the detectors.
const (
	KindStatus      = "status"       // the HTTP status
	KindUpgrade     = "upgrade"      // a WebSocket's 101
	KindContentType = "content-type" // the response's media type
	KindEvents      = "events"       // N events within T
	KindFirstEvent  = "first-event"  // the first event within T
	KindExpect      = "expect"       // an event matching an expression
	KindExpectFirst = "expect-first" // the first event matching an expression (an acknowledgement)
	KindTTFT        = "ttft"         // an AI stream's time to first token
	KindComplete    = "complete"     // an AI stream's terminator
	KindEcho        = "echo"         // a WebSocket echo
	KindThreshold   = "threshold"    // a load threshold
	KindSession     = "session"      // a session failed in a way no assertion names
	KindReach       = "reach"        // the target could not be reached at all
	KindPublish     = "publish"      // the messages --publish-rate sent through a managed service's HTTP API

	KindBuffering   = "buffering"   // events delivered in bursts
	KindCompression = "compression" // a compressed event stream
	KindStreaming   = "streaming"   // an event stream with a Content-Length
	KindHeaders     = "headers"     // Cache-Control and X-Accel-Buffering on an event stream
	KindUTF8        = "utf8"        // invalid UTF-8 in text
)

// Outcome is one assertion or detector, judged.
type Outcome struct {
	Kind     string  `json:"kind"`
	Name     string  `json:"name"` // Kind, or with its subject: "expect status==completed"
	Detector bool    `json:"detector"`
	Verdict  Verdict `json:"verdict"`
	// Measured is what was seen ("3 events in 2.01s", "503 Service
	// Unavailable"); Want the bound ("≥3 within 5s"), empty for detectors;
	// Reason, when the verdict is not pass, the likely cause and what to do.
	Measured string `json:"measured"`
	Want     string `json:"want,omitempty"`
	Reason   string `json:"reason,omitempty"`
	// Elapsed is when the outcome was decided, from the check's start (for
	// thresholds and detectors: the end of the sessions).
	Elapsed time.Duration `json:"-"`
}

// Result is one check, run.
type Result struct {
	Name string
	URL  string
	// Mode is the mode it ran in; "" when detection got an error answer,
	// which does not tell the pattern.
	Mode     string
	Detected bool // the mode was detected rather than given
	// Protocol is the HTTP version of the first session's answer
	// ("HTTP/2.0", "HTTP/1.1"); empty when none came.
	Protocol string
	Sessions int // sessions asked for
	Start    time.Time
	Duration time.Duration
	Outcomes []Outcome
	// Unreachable says no session reached the target (refused, DNS, TLS):
	// Outcomes then holds one KindReach failure.
	Unreachable bool
	// Interrupted says the caller's context ended the check (Ctrl-C), not
	// its timeout.
	Interrupted bool
}

// Count returns how many outcomes have verdict v.
func (r *Result) Count(v Verdict) int {
	n := 0
	for _, o := range r.Outcomes {
		if o.Verdict == v {
			n++
		}
	}
	return n
}

// Passed reports whether nothing failed.
func (r *Result) Passed() bool { return !r.Unreachable && r.Count(Fail) == 0 }

// fmtDur prints a duration with three significant digits: 850µs, 12.3ms,
// 1.02s, 45.6s, 2m3s.
func fmtDur(d time.Duration) string {
	if d < 0 {
		return "-" + fmtDur(-d)
	}
	if d == 0 {
		return "0s"
	}
	if d < time.Millisecond {
		if n := math.Round(float64(d) / 1e3); n < 1000 {
			return strconv.FormatFloat(n, 'f', 0, 64) + "µs"
		}
		d = time.Millisecond
	}
	if d < time.Second {
		if s := sig3(float64(d) / 1e6); s != "1000" {
			return s + "ms"
		}
		d = time.Second
	}
	if d < time.Minute {
		if s := sig3(float64(d) / 1e9); s != "60.0" {
			return s + "s"
		}
		d = time.Minute
	}
	return d.Round(time.Second).String()
}

// sig3 prints x (≥ 1) with three significant digits: "1.02", "12.3",
// "450"; a value that rounds up a digit ("99.96") gets one digit fewer
// ("100").
func sig3(x float64) string {
	prec := 2
	switch {
	case x >= 99.95:
		prec = 0
	case x >= 9.995:
		prec = 1
	}
	return strconv.FormatFloat(x, 'f', prec, 64)
}

// fmtBound prints a bound the user gave, as given: 5s, 500ms, 1m30s.
func fmtBound(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
