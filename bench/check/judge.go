package check

import (
	"errors"
	"fmt"
	"mime"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rtbench/rtbench/transport"
)

// verdict is one session's judgement of one outcome, with a score that
// picks the session a report shows when all pass: the highest (slowest).
type verdict struct {
	Outcome
	score time.Duration
}

func pass(kind, measured, want string, score time.Duration) verdict {
	return verdict{Outcome{Kind: kind, Name: kind, Verdict: Pass, Measured: measured, Want: want}, score}
}

func fail(kind, measured, want, reason string) verdict {
	return verdict{Outcome: Outcome{Kind: kind, Name: kind, Verdict: Fail, Measured: measured, Want: want, Reason: reason}}
}

func skip(kind, reason string) verdict {
	return verdict{Outcome: Outcome{Kind: kind, Name: kind, Verdict: Skip, Measured: "not checked", Reason: reason}}
}

// judge returns the session's verdicts in report order: the assertions, then
// the detectors. now ends the judgement of a session still running.
func (pr *probe) judge(now time.Time) []verdict {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	p := pr.p
	end := pr.end
	if end.IsZero() {
		end = now
	}
	var out []verdict
	usable, why := true, ""

	// The handshake.
	kind := KindStatus
	if p.upgrade() {
		kind = KindUpgrade
	}
	switch {
	case pr.head == nil:
		usable, why = false, "there was no response"
		measured, reason := "no response in "+fmtDur(end.Sub(pr.origin)), "the server accepted the connection but sent no headers: it is stuck, or a proxy waits for the whole response"
		if f := pr.fatal; f != nil && !errors.Is(f, errTimeout) && f.Class != transport.ClassCanceled {
			measured = "no response: " + string(f.Class)
			reason = oneLine(f.Error())
		}
		out = append(out, fail(kind, measured, pr.wantStatus(), reason))
	case !pr.statusOK():
		usable, why = false, "the status was "+strconv.Itoa(pr.head.status)
		if p.upgrade() {
			out = append(out, fail(kind, statusText(pr.head.status)+" instead of 101", "101",
				"the WebSocket upgrade was refused: check the route and its auth, and that every proxy forwards the Upgrade and Connection headers"))
		} else {
			reason := "fix the URL, method, headers or auth, or the server"
			if pr.fatal != nil {
				reason = oneLine(pr.fatal.Error())
			}
			out = append(out, fail(kind, statusText(pr.head.status), pr.wantStatus(), reason))
		}
	default:
		out = append(out, pass(kind, statusText(pr.head.status), pr.wantStatus(), 0))
	}

	if p.contentType != "" {
		switch {
		case !usable:
			out = append(out, skip(KindContentType, why))
		default:
			ct := pr.head.header.Get("Content-Type")
			mt, _, _ := mime.ParseMediaType(ct)
			shown := ct
			if ct == "" {
				shown = "none"
			}
			if p.aiContentType {
				// An AI stream's type is its format's: NDJSON (Ollama), the
				// AI SDK data stream's text/plain, else an event stream.
				p.contentType = transport.AIMediaType(pr.head.header)
			}
			if strings.EqualFold(mt, p.contentType) {
				out = append(out, pass(KindContentType, shown, p.contentType, 0))
				break
			}
			reason := "the response is not " + p.contentType
			switch {
			case p.contentType == "text/event-stream" && (mt == "application/json" || strings.HasSuffix(mt, "+json")):
				reason = "the server answered one JSON body, not a stream (an AI API needs \"stream\": true)"
			case p.contentType == "text/event-stream":
				reason = "EventSource fails the connection on any other type: serve the stream as text/event-stream (a proxy may be replacing it)"
			}
			out = append(out, fail(KindContentType, shown, p.contentType, reason))
			usable, why = false, "the content type was "+shown
		}
	}

	if p.events > 0 {
		out = append(out, pr.judgeEvents(usable, why, end))
	}
	if p.firstEvent > 0 {
		if v := pr.judgeFirst(usable, why, end); !p.firstDefault || v.Verdict == Fail {
			out = append(out, v)
		}
	}
	if p.expectFirst != nil {
		out = append(out, pr.judgeExpectFirst(usable, why, end))
	}
	for i, x := range p.expect {
		v := pr.judgeExpect(i, usable, why, end)
		v.Want = x.String()
		v.Name = KindExpect + " " + x.String()
		out = append(out, v)
	}
	if p.ttft > 0 {
		out = append(out, pr.judgeTTFT(usable, why, end))
	}
	if p.complete {
		out = append(out, pr.judgeComplete(usable, why, end))
	}
	if p.echo {
		out = append(out, pr.judgeEcho(usable, why, end))
	}

	// The detectors.
	var det []verdict
	switch p.mode {
	case ModeSSE:
		det = append(det, pr.judgeBursts(usable, why), pr.judgeCompression(usable, why), pr.judgeStreaming(usable, why), pr.judgeHeaders(usable, why), pr.judgeUTF8(usable, why))
	case ModeAI:
		if pr.burst.judged > 0 {
			det = append(det, pr.judgeBursts(usable, why))
		}
		det = append(det, pr.judgeCompression(usable, why), pr.judgeStreaming(usable, why), pr.judgeHeaders(usable, why), pr.judgeUTF8(usable, why))
	case ModeWS:
		det = append(det, pr.judgeBursts(usable, why), pr.judgeUTF8(usable, why))
	}
	for i := range det {
		det[i].Detector = true
	}
	return append(out, det...)
}

func (pr *probe) wantStatus() string {
	if pr.p.upgrade() {
		return "101"
	}
	return pr.p.status.String()
}

// ended describes how the session ended before it was decided, for a
// reason; "" when it was still running (the timeout).
func (pr *probe) ended() string {
	switch {
	case pr.stopped:
		return ""
	case pr.fatal != nil:
		return "the session failed: " + oneLine(pr.fatal.Error())
	case pr.closed != nil && !pr.closed.Reconnect:
		if pr.closed.Code != 0 {
			return fmt.Sprintf("the connection closed with %d %q", pr.closed.Code, pr.closed.Reason)
		}
		return "the stream ended"
	}
	return ""
}

func (pr *probe) judgeEvents(usable bool, why string, end time.Time) verdict {
	p := pr.p
	want := fmt.Sprintf("≥%d within %s", p.events, fmtBound(p.within))
	if !usable {
		return skip(KindEvents, why)
	}
	if pr.events >= p.events {
		took := pr.nthAt.Sub(pr.origin)
		measured := plural(p.events, "event", "events") + " in " + fmtDur(took)
		if took <= p.within {
			return pass(KindEvents, measured, want, took)
		}
		return fail(KindEvents, measured, want, "events come too slowly: the server publishes slowly, or something holds them back")
	}
	window := min(end.Sub(pr.origin), p.within)
	measured := plural(pr.inWithin, "event", "events") + " in " + fmtDur(window)
	if e := pr.ended(); e != "" && end.Before(pr.origin.Add(p.within)) {
		return fail(KindEvents, measured, want, e)
	}
	reason := "events come too slowly or not at all: check the server publishes, and that no proxy holds them back"
	if pr.inWithin == 0 {
		reason = "no event arrived after the headers: the server publishes nothing, or a proxy buffers the stream"
	}
	return fail(KindEvents, measured, want, reason)
}

func (pr *probe) judgeFirst(usable bool, why string, end time.Time) verdict {
	p := pr.p
	want := "≤" + fmtBound(p.firstEvent)
	if !usable {
		return skip(KindFirstEvent, why)
	}
	if !pr.firstAt.IsZero() {
		took := pr.firstAt.Sub(pr.origin)
		if took <= p.firstEvent {
			return pass(KindFirstEvent, "after "+fmtDur(took), want, took)
		}
		return fail(KindFirstEvent, "after "+fmtDur(took), want, "the first event came late: the server's first publish is slow, or a proxy buffers the start of the stream")
	}
	if e := pr.ended(); e != "" && end.Before(pr.origin.Add(p.firstEvent)) {
		return fail(KindFirstEvent, "none before the end", want, e)
	}
	reason := "no event arrived: the server publishes nothing, or a proxy buffers the stream"
	if p.mode == ModeWS {
		reason = "no message arrived after the upgrade: most WebSocket APIs push only after a subscribe or auth message: send it with --send"
		if p.spec.Request.Send != nil {
			reason = "no message arrived after the upgrade and the --send messages: check what the server waits for (type, channel, auth)"
		}
	}
	if p.firstDefault {
		want += ", the WebSocket default"
		reason += " (--first-event or --within sets the window)"
	}
	return fail(KindFirstEvent, "none in "+fmtDur(min(end.Sub(pr.origin), p.firstEvent)), want, reason)
}

func (pr *probe) judgeExpectFirst(usable bool, why string, end time.Time) verdict {
	x := pr.p.expectFirst
	v := func(v verdict) verdict {
		v.Want, v.Name = x.String(), KindExpectFirst+" "+x.String()
		return v
	}
	if !usable {
		return v(skip(KindExpectFirst, why))
	}
	if pr.firstAt.IsZero() {
		reason := "no event arrived"
		if pr.p.mode == ModeWS {
			reason = "no message arrived: check the --send message the server waits for"
		}
		if e := pr.ended(); e != "" {
			reason = e + "; " + reason
		}
		return v(fail(KindExpectFirst, "no event in "+fmtDur(end.Sub(pr.origin)), "", reason))
	}
	took := pr.firstAt.Sub(pr.origin)
	if pr.firstOK {
		return v(pass(KindExpectFirst, "the first event matched after "+fmtDur(took), "", took))
	}
	return v(fail(KindExpectFirst, "the first event was "+quoteData(pr.firstData), "",
		"the server did not acknowledge as expected: check the --send message (its type, channel and auth) and the expression"))
}

func (pr *probe) judgeExpect(i int, usable bool, why string, end time.Time) verdict {
	if !usable {
		return skip(KindExpect, why)
	}
	if at := pr.expectAt[i]; !at.IsZero() {
		took := at.Sub(pr.origin)
		return pass(KindExpect, fmt.Sprintf("matched event %d after %s", pr.expectSeq[i], fmtDur(took)), "", took)
	}
	measured := fmt.Sprintf("no match among %s in %s", plural(pr.events, "event", "events"), fmtDur(end.Sub(pr.origin)))
	reason := "no event arrived"
	if pr.events > 0 {
		reason = "the last event was " + quoteData(pr.lastData)
	}
	if e := pr.ended(); e != "" {
		reason = e + "; " + reason
	}
	return fail(KindExpect, measured, "", reason)
}

func quoteData(b []byte) string {
	s := string(b)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(b) == lastDataMax {
		s += "…"
	}
	return strings.Join(strings.Fields(s), " ")
}

func (pr *probe) judgeTTFT(usable bool, why string, end time.Time) verdict {
	p := pr.p
	want := "≤" + fmtBound(p.ttft)
	if !usable {
		return skip(KindTTFT, why)
	}
	var took time.Duration
	switch x := pr.exchange; {
	case x != nil && !x.First.IsZero():
		took = x.First.Sub(x.Start)
	case !pr.firstToken.IsZero():
		took = pr.firstToken.Sub(pr.origin)
	case pr.ended() != "":
		return fail(KindTTFT, "no token", want, pr.ended()+" before any text")
	default:
		return fail(KindTTFT, "none in "+fmtDur(min(end.Sub(pr.origin), p.ttft)), want, "no token arrived: the model or its queue is slow, or a proxy buffers the stream")
	}
	if took <= p.ttft {
		return pass(KindTTFT, fmtDur(took), want, took)
	}
	return fail(KindTTFT, fmtDur(took), want, "the first token came late: the model or its queue is slow, or a proxy buffers the start of the stream")
}

func orEnded(e, def string) string {
	if e != "" {
		return e
	}
	return def
}

// terminator names the end marker of an AI stream format.
func terminator(format string) string {
	if f := transport.LookupAIFormat(format); f != nil {
		return strings.TrimPrefix(f.Terminator, "data: ")
	}
	return "its terminator"
}

func (pr *probe) judgeComplete(usable bool, why string, end time.Time) verdict {
	if !usable {
		return skip(KindComplete, why)
	}
	x := pr.exchange
	if x == nil {
		return fail(KindComplete, "still streaming after "+fmtDur(end.Sub(pr.origin)), "the terminator",
			"the stream did not end within the timeout: raise it, or check the server ends its streams")
	}
	term := terminator(x.Format)
	tokens := plural(x.Tokens, "token", "tokens")
	if x.Complete {
		name := x.Format + " stream"
		return pass(KindComplete, fmt.Sprintf("%s ended with %s after %s in %s", name, term, tokens, fmtDur(x.End.Sub(x.Start))), term, 0)
	}
	if x.Format == "" {
		return fail(KindComplete, "not a token stream", "[DONE] or message_stop",
			"the events are none of the AI stream formats ("+transport.AIFormatNames()+"), so no terminator can end them: check the URL and the body, or force one with --ai-format")
	}
	reason := "clients that wait for " + term + " hang or drop the answer: end every stream with it (and check no proxy cuts streams short)"
	if x.BadChunks > 0 {
		reason = plural(x.BadChunks, "chunk was", "chunks were") + " not valid JSON; " + reason
	}
	return fail(KindComplete, fmt.Sprintf("ended without %s after %s", term, tokens), term, reason)
}

func (pr *probe) judgeEcho(usable bool, why string, end time.Time) verdict {
	if !usable {
		return skip(KindEcho, why)
	}
	if pr.echoed {
		return pass(KindEcho, "echoed in "+fmtDur(pr.echoRTT), "the message back", pr.echoRTT)
	}
	return fail(KindEcho, "no echo in "+fmtDur(end.Sub(pr.origin)), "the message back",
		orEnded(pr.ended(), "the server did not send back the message rtbench sent: it is not an echo endpoint, or it drops client messages"))
}

func (pr *probe) judgeBursts(usable bool, why string) verdict {
	if !usable {
		return skip(KindBuffering, why)
	}
	b := &pr.burst
	if b.judged < BurstMin {
		return skip(KindBuffering, fmt.Sprintf("needs %d events with server timestamps (sent_ns, sched_ns or ts); got %d", BurstMin, b.judged))
	}
	if w := b.worst; w.Events > 0 {
		what := "events"
		if pr.p.mode == ModeWS {
			what = "messages"
		}
		reason := "a proxy is buffering the stream, or the server does not flush each event: flush after every event (for nginx set X-Accel-Buffering: no)"
		if pr.p.mode == ModeWS {
			reason = "a proxy or the server batches messages: write each message as it is due"
		}
		measured := fmt.Sprintf("%s arrive in bursts: %d %s sent over %s arrived within %s", what, w.Events, what, fmtDur(w.Sent), fmtDur(w.Arrived))
		if pr.ownStall(w.Sent) {
			return verdict_(KindBuffering, Warn, measured, pr.stallReason())
		}
		return verdict_(KindBuffering, Fail, measured, reason)
	}
	sent := time.Duration(b.spanSrv[1] - b.spanSrv[0])
	arrived := time.Duration(b.spanAt[1] - b.spanAt[0])
	return pass(KindBuffering, fmt.Sprintf("no bursts: %d stamped events sent over %s arrived over %s", b.judged, fmtDur(sent), fmtDur(arrived)), "", 0)
}

func (pr *probe) judgeCompression(usable bool, why string) verdict {
	if !usable {
		return skip(KindCompression, why)
	}
	ce := strings.TrimSpace(pr.head.header.Get("Content-Encoding"))
	if !pr.compressed() {
		m := "not compressed"
		if pr.head.askedGzip {
			m += " (Accept-Encoding: gzip was sent)"
		}
		return pass(KindCompression, m, "", 0)
	}
	// Judged by what the compressor does: events held back and released
	// together fail; events on their cadence are a warning.
	v := func(verdict Verdict, measured, reason string) verdict {
		return verdict_(KindCompression, verdict, "Content-Encoding: "+ce+": "+measured, reason)
	}
	what := "events"
	b := &pr.burst
	switch w, c := b.worst, pr.clump.worst; {
	case w.Events > 0 && pr.ownStall(w.Sent):
		return v(Warn, fmt.Sprintf("%d %s sent over %s arrived within %s", w.Events, what, fmtDur(w.Sent), fmtDur(w.Arrived)), pr.stallReason())
	case w.Events > 0:
		return v(Fail, fmt.Sprintf("the compressor holds events back: %d %s sent over %s arrived within %s", w.Events, what, fmtDur(w.Sent), fmtDur(w.Arrived)),
			"flush the compressor after every event, or exclude text/event-stream from compression")
	case c.Events > 0:
		return v(Fail, fmt.Sprintf("the compressor holds events back: %d %s arrived within %s after %s of silence", c.Events, what, fmtDur(c.Arrived), fmtDur(c.Silence)),
			"flush the compressor after every event, or exclude text/event-stream from compression")
	case b.judged >= BurstMin:
		sent := time.Duration(b.spanSrv[1] - b.spanSrv[0])
		arrived := time.Duration(b.spanAt[1] - b.spanAt[0])
		return v(Warn, fmt.Sprintf("events arrive on their cadence (%d stamped events sent over %s arrived over %s)", b.judged, fmtDur(sent), fmtDur(arrived)),
			"the server flushes its compressor per event; a proxy or another compressor may not: exclude text/event-stream from compression")
	case pr.events >= BurstMin:
		return v(Warn, fmt.Sprintf("no clumps in %d events (no timestamps to compare)", pr.events),
			"the server seems to flush its compressor per event; a proxy or another compressor may not: exclude text/event-stream from compression")
	}
	return v(Warn, fmt.Sprintf("too few events to judge (%d)", pr.events),
		"a compressor can hold events back until it flushes: exclude text/event-stream from compression")
}

// verdict_ is a verdict of kind with no bound.
// ownStall reports whether events sent over span could have been held back
// by rtbench itself: it stalled (was not scheduled) at least that long in
// the run, so their arriving together proves nothing of the server.
func (pr *probe) ownStall(span time.Duration) bool {
	return pr.stall > 0 && span <= pr.stall+BurstWindow
}

func (pr *probe) stallReason() string {
	return fmt.Sprintf("rtbench itself stalled for %s in this run (short of CPU), as long as the burst: it cannot tell a buffering server from its own delay; rerun on a less busy machine", fmtDur(pr.stall))
}

func verdict_(kind string, v Verdict, measured, reason string) verdict {
	return verdict{Outcome: Outcome{Kind: kind, Name: kind, Verdict: v, Measured: measured, Reason: reason}}
}

func (pr *probe) judgeStreaming(usable bool, why string) verdict {
	if !usable {
		return skip(KindStreaming, why)
	}
	if n := pr.head.contentLength; n >= 0 {
		return verdict{Outcome: Outcome{Kind: KindStreaming, Name: KindStreaming, Verdict: Fail,
			Measured: fmt.Sprintf("Content-Length: %d on an event stream", n),
			Reason:   "the server or a proxy sent the stream whole at its end, so nothing streams: send it chunked and flush each event"}}
	}
	m := "no Content-Length"
	if pr.head.chunked {
		m = "chunked, no Content-Length"
	}
	return pass(KindStreaming, m, "", 0)
}

func (pr *probe) judgeHeaders(usable bool, why string) verdict {
	if !usable {
		return skip(KindHeaders, why)
	}
	h := pr.head.header
	cc, xab := h.Get("Cache-Control"), h.Get("X-Accel-Buffering")
	lc := strings.ToLower(cc)
	okCC := strings.Contains(lc, "no-cache") || strings.Contains(lc, "no-store")
	okXAB := strings.EqualFold(strings.TrimSpace(xab), "no")
	measured := "Cache-Control: " + orNone(cc) + ", X-Accel-Buffering: " + orNone(xab)
	if okCC && okXAB {
		return pass(KindHeaders, measured, "", 0)
	}
	var missing []string
	if !okXAB {
		missing = append(missing, "nginx buffers an event stream without X-Accel-Buffering: no")
	}
	if !okCC {
		missing = append(missing, "caches and proxies may hold one without Cache-Control: no-cache (or no-store)")
	}
	return verdict{Outcome: Outcome{Kind: KindHeaders, Name: KindHeaders, Verdict: Warn, Measured: measured,
		Reason: strings.Join(missing, ", and ") + ": set them on the response"}}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func (pr *probe) judgeUTF8(usable bool, why string) verdict {
	if !usable {
		return skip(KindUTF8, why)
	}
	if pr.texts == 0 && pr.invalidUTF8 == 0 {
		return skip(KindUTF8, "no text arrived to check")
	}
	ws := pr.p.mode == ModeWS
	what := "events"
	if ws {
		what = "text messages"
	}
	if pr.invalidUTF8 == 0 {
		if pr.texts == 1 {
			return pass(KindUTF8, "the one "+strings.TrimSuffix(what, "s")+" is valid UTF-8", "", 0)
		}
		return pass(KindUTF8, fmt.Sprintf("all %d %s are valid UTF-8", pr.texts, what), "", 0)
	}
	if ws {
		return verdict{Outcome: Outcome{Kind: KindUTF8, Name: KindUTF8, Verdict: Fail,
			Measured: fmt.Sprintf("%d of %d text messages not valid UTF-8", pr.invalidUTF8, pr.texts),
			Reason:   "browsers close the connection with 1007 at such a message: send text frames as UTF-8, or use binary frames"}}
	}
	return verdict{Outcome: Outcome{Kind: KindUTF8, Name: KindUTF8, Verdict: Warn,
		Measured: fmt.Sprintf("%s with invalid UTF-8", plural(pr.invalidUTF8, "event", "events")),
		Reason:   "clients replace the bytes with U+FFFD, so the data arrives corrupted: send UTF-8"}}
}

// oneLine folds an error message onto one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// unreachable returns the error that kept the session from reaching the
// target at all, or nil.
func (pr *probe) unreachable() *transport.Error {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.head == nil && pr.fatal != nil && pr.fatal.Class.Unreachable() {
		return pr.fatal
	}
	return nil
}
