package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/rtbench/rtbench/transport"
)

// Format is how `listen` writes events.
type Format int

const (
	FormatTTY   Format = iota // one coloured line per event, cut to the width
	FormatPlain               // data only, one line per event: for pipes
	FormatJSON                // one JSON object per line
)

// ListenOptions shape the output of `rtbench listen`.
type ListenOptions struct {
	Format  Format
	Color   bool // FormatTTY only; false gives plain text
	Width   int  // terminal width for FormatTTY; default 80
	Full    bool // do not cut long data to the width
	Notices bool // connection and close notices on Err (a terminal)
	Quiet   bool // nothing on Err but the fatal error
	Start   time.Time
}

// Listener prints a session's observations: events on Out, notices and
// errors on Err. It implements transport.Observer and only formats: every
// number it prints is a field of an observation.
type Listener struct {
	out, err io.Writer
	o        ListenOptions
	st       styles
	buf      []byte
	inText   bool // an AI answer is being printed and its line is open
}

type styles struct {
	dim, kind, id, latency, warn, bad lipgloss.Style
}

func newStyles(w io.Writer, color bool) styles {
	r := lipgloss.NewRenderer(w)
	if !color {
		r.SetColorProfile(termenv.Ascii)
	}
	return styles{
		dim:     r.NewStyle().Faint(true),
		kind:    r.NewStyle().Foreground(lipgloss.Color("6")),
		id:      r.NewStyle().Foreground(lipgloss.Color("3")),
		latency: r.NewStyle().Foreground(lipgloss.Color("2")),
		warn:    r.NewStyle().Foreground(lipgloss.Color("3")),
		bad:     r.NewStyle().Foreground(lipgloss.Color("1")).Bold(true),
	}
}

// NewListener returns a Listener writing to out and errOut.
func NewListener(out, errOut io.Writer, o ListenOptions) *Listener {
	if o.Width <= 0 {
		o.Width = 80
	}
	if o.Start.IsZero() {
		o.Start = time.Now()
	}
	return &Listener{out: out, err: errOut, o: o, st: newStyles(out, o.Color && o.Format == FormatTTY)}
}

// Connected prints a notice on a terminal.
func (l *Listener) Connected(c *transport.Connect) {
	if !l.o.Notices || l.o.Quiet {
		return
	}
	l.endText()
	what := c.Proto + " " + strconv.Itoa(c.Status)
	if c.Subprotocol != "" {
		what += ", subprotocol " + c.Subprotocol
	}
	verb := "connected"
	if c.Attempt > 0 {
		verb = fmt.Sprintf("reconnected (attempt %d)", c.Attempt)
	}
	fmt.Fprintf(l.err, "%s\n", l.st.dim.Render(Visible(fmt.Sprintf("%s to %s: %s, headers after %s", verb, transport.RedactURL(c.URL), what, ms(c.Headers.Sub(c.Start))))))
}

// Event prints one event.
func (l *Listener) Event(e *transport.Event) {
	switch l.o.Format {
	case FormatJSON:
		l.eventJSON(e)
	case FormatPlain:
		l.eventPlain(e)
	default:
		l.eventTTY(e)
	}
}

func (l *Listener) eventPlain(e *transport.Event) {
	switch e.Kind {
	case transport.KindPong, transport.KindComment:
		return
	case transport.KindToken:
		l.out.Write(e.Data)
		l.inText = true
		return
	}
	l.buf = append(l.buf[:0], e.Data...)
	l.buf = append(l.buf, '\n')
	l.out.Write(l.buf)
}

func (l *Listener) eventTTY(e *transport.Event) {
	if e.Kind == transport.KindToken {
		io.WriteString(l.out, Visible(string(e.Data)))
		l.inText = true
		return
	}
	if e.Kind == transport.KindComment {
		return // shown by --json only
	}
	l.endText()
	rel := fmt.Sprintf("%8.3fs", e.At.Sub(l.o.Start).Seconds())
	if e.Kind == transport.KindPong {
		fmt.Fprintf(l.out, "%s  %s\n", l.st.dim.Render(rel), l.st.dim.Render("pong "+ms(e.RTT)))
		return
	}
	typ, id := oneLine(e.Type), oneLine(e.ID)
	head := typ
	if id != "" {
		head += " #" + id
	}
	tail := ""
	if d, ok := e.Delivery(); ok {
		tail = "  +" + ms(d)
	}
	data := string(e.Data)
	if l.o.Full {
		data = Visible(data)
	} else {
		data = oneLine(data)
		room := l.o.Width - len(rel) - 2 - utf8.RuneCountInString(head) - 2 - len(tail)
		data = cut(data, max(room, 8))
	}
	fmt.Fprintf(l.out, "%s  %s  %s%s\n", l.st.dim.Render(rel), l.renderHead(typ, id), data, l.st.latency.Render(tail))
}

func (l *Listener) renderHead(typ, id string) string {
	s := l.st.kind.Render(typ)
	if id != "" {
		s += " " + l.st.id.Render("#"+id)
	}
	return s
}

type jsonEvent struct {
	Time       string   `json:"time"`
	ElapsedMS  float64  `json:"elapsed_ms"`
	Kind       string   `json:"kind"`
	Type       string   `json:"type,omitempty"`
	ID         string   `json:"id,omitempty"`
	Data       string   `json:"data"`
	Size       int      `json:"size,omitempty"`
	Seq        *uint64  `json:"seq,omitempty"`
	DeliveryMS *float64 `json:"delivery_ms,omitempty"`
	WireMS     *float64 `json:"wire_ms,omitempty"`
	RTTMS      *float64 `json:"rtt_ms,omitempty"`
}

var kindNames = map[transport.EventKind]string{
	transport.KindMessage: "message",
	transport.KindToken:   "token",
	transport.KindPong:    "pong",
	transport.KindEcho:    "echo",
	transport.KindComment: "comment",
}

func (l *Listener) eventJSON(e *transport.Event) {
	j := jsonEvent{
		Time:      e.At.UTC().Format(time.RFC3339Nano),
		ElapsedMS: msf(e.At.Sub(l.o.Start)),
		Kind:      kindNames[e.Kind],
		Type:      e.Type,
		ID:        e.ID,
		Data:      string(e.Data),
		Size:      e.Size,
	}
	if e.Stamp.HasSeq {
		s := e.Stamp.Seq
		j.Seq = &s
	}
	if d, ok := e.Delivery(); ok {
		v := msf(d)
		j.DeliveryMS = &v
	}
	if d, ok := e.Wire(); ok {
		v := msf(d)
		j.WireMS = &v
	}
	if e.Kind == transport.KindPong {
		v := msf(e.RTT)
		j.RTTMS = &v
		j.Data = ""
	}
	b, _ := json.Marshal(j)
	l.out.Write(append(JSONSafe(b), '\n'))
}

// Exchange closes an AI answer's line; polls print nothing more.
func (l *Listener) Exchange(x *transport.Exchange) {
	if x.Format != "" {
		l.endText()
	}
}

// Error prints an error or warning on Err, one line each; a fatal one (it
// ends the session: the command prints nothing more about it, even with
// Quiet) ends with what to do about it (transport.Advice).
func (l *Listener) Error(e *transport.Error) {
	if l.o.Quiet && !e.Fatal {
		return
	}
	l.endText()
	msg := string(e.Class)
	if e.Code != 0 {
		msg += fmt.Sprintf(" (%d)", e.Code)
	}
	if text := e.Error(); text != string(e.Class) {
		msg += ": " + oneLine(text)
	}
	style := l.st.warn
	if e.Fatal {
		style = l.st.bad
		if a := transport.Advice(e.Class); a != "" {
			msg += ": " + a
		}
	}
	fmt.Fprintln(l.err, style.Render("! "+Visible(msg)))
}

// Closed prints a notice on a terminal.
func (l *Listener) Closed(c *transport.Close) {
	if !l.o.Notices || l.o.Quiet {
		return
	}
	l.endText()
	fmt.Fprintln(l.err, l.st.dim.Render(Visible(CloseText(c))))
}

// CloseText says how a connection ended, in words.
func CloseText(c *transport.Close) string {
	var b strings.Builder
	b.WriteString("connection closed")
	if c.Code != 0 {
		fmt.Fprintf(&b, " with %d", c.Code)
		if c.Reason != "" {
			fmt.Fprintf(&b, " %q", c.Reason)
		}
	}
	if c.Clean {
		b.WriteString(" (clean)")
	}
	if c.Reconnect {
		b.WriteString("; reconnecting")
	}
	return b.String()
}

func (l *Listener) endText() {
	if l.inText {
		l.out.Write([]byte{'\n'})
		l.inText = false
	}
}

// Finish ends an open line of streamed text.
func (l *Listener) Finish() { l.endText() }

// oneLine puts s on one line (↵ for a line break) with every control
// character visible (Visible): for data, reasons and error examples.
func oneLine(s string) string {
	if strings.ContainsAny(s, "\r\n\t") {
		s = strings.NewReplacer("\r\n", "↵", "\n", "↵", "\r", "↵", "\t", " ").Replace(s)
	}
	return Visible(s)
}

// cut shortens s to n runes, ending with "…" when it cut.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	k := 0
	for i := range s {
		if k == n-1 {
			return s[:i] + "…"
		}
		k++
	}
	return s
}

func msf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// ms formats a duration for people: 812µs, 12.3ms, 1.52s.
func ms(d time.Duration) string {
	switch {
	case d < 0:
		return "-" + ms(-d)
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < 100*time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000)
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}
