package report

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/lipgloss"

	"github.com/rtbench/rtbench/bench"
)

// ProgressOptions shape the live status line of `rtbench load`.
type ProgressOptions struct {
	Total time.Duration // the planned duration, warmup included; 0 shows elapsed time only
	Width int           // the terminal's width; DefaultWidth when 0, at least MinWidth
	Color bool          // colour (16-colour ANSI); false gives plain text
	// Off prints nothing: for a stderr that is not a terminal, where a
	// line rewritten with \r would only make a mess of a log.
	Off bool
}

// Progress writes a one-line status that it rewrites in place (\r) each
// time Update is called, which the engine does about once a second:
//
//	12s/60s  sessions 480/500  events 4.8k/s  errors 0  p99 delivery 3.2ms
//
// Parts are left out, least useful first, until the line fits the width.
// Update may be called from another goroutine than Done. A nil *Progress
// does nothing.
type Progress struct {
	mu    sync.Mutex
	w     io.Writer
	o     ProgressOptions
	st    loadStyles
	shown int // cells of the line on screen; 0 when none
}

// NewProgress returns a Progress writing to w (a terminal's stderr).
func NewProgress(w io.Writer, o ProgressOptions) *Progress {
	o.Width = fitWidth(o.Width)
	return &Progress{w: w, o: o, st: newLoadStyles(w, o.Color)}
}

// Update rewrites the line with the snapshot s. It has the signature of
// bench.Engine.Progress.
func (p *Progress) Update(s bench.Progress) {
	if p == nil || p.o.Off {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	line, w := p.line(s)
	// Spaces rub out what is left of a longer previous line: no escape
	// sequence needed, so it works on any terminal.
	fmt.Fprintf(p.w, "\r%s%s", line, strings.Repeat(" ", max(p.shown-w, 0)))
	p.shown = w
}

// Done clears the line, leaving the cursor at the start of it, so the
// report that follows starts on a clean line.
func (p *Progress) Done() {
	if p == nil || p.o.Off {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown > 0 {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.shown))
		p.shown = 0
	}
}

// part is a piece of the status line; rank orders what is kept when the
// line is too long (0 is kept longest).
type part struct {
	text  string
	rank  int
	style *lipgloss.Style
}

// line returns the styled status line for s and its width in cells. It
// stays one cell short of the width, so the terminal never wraps it.
func (p *Progress) line(s bench.Progress) (string, int) {
	st := &p.st
	clock := clockFormat(p.o.Total)
	el := clock(s.Elapsed)
	if p.o.Total > 0 {
		el += "/" + clock(p.o.Total)
	}
	parts := []part{{text: el, rank: 0}}
	if s.Warmup {
		parts = append(parts, part{text: "warmup", rank: 1, style: &st.warn})
	}
	if s.Rate > 0 {
		parts = append(parts, part{text: fmt.Sprintf("rate %s/s  in flight %s", si(s.Rate), count(s.Open)), rank: 3})
	} else {
		parts = append(parts, part{text: fmt.Sprintf("sessions %s/%s", count(s.Open), count(s.Target)), rank: 3})
	}
	// The throughput that matters most: events for held sessions, requests
	// for the open model.
	evRank, reqRank := 5, 7
	if s.Rate > 0 {
		evRank, reqRank = 7, 5
	}
	if s.EventsPerSec > 0 || s.Rate == 0 {
		parts = append(parts, part{text: "events " + si(s.EventsPerSec) + "/s", rank: evRank})
	}
	if s.RequestsPerSec > 0 {
		parts = append(parts, part{text: "requests " + si(s.RequestsPerSec) + "/s", rank: reqRank})
	}
	errs := part{text: "errors " + count(s.Errors), rank: 4}
	if s.Errors > 0 {
		errs.style = &st.bad
	}
	parts = append(parts, errs)
	if s.Dropped > 0 {
		parts = append(parts, part{text: "dropped " + count(s.Dropped), rank: 6, style: &st.warn})
	}
	if s.HeadlineOK {
		parts = append(parts, part{text: "p99 " + s.Headline.String() + " " + sig3(s.HeadlineP99), rank: 2, style: &st.bar})
	}
	const indent, sep = "  ", "  "
	room := p.o.Width - 1
	total := func() int {
		n := len(indent)
		for i, pt := range parts {
			if i > 0 {
				n += len(sep)
			}
			n += textWidth(pt.text)
		}
		return n
	}
	for len(parts) > 1 && total() > room {
		worst := 0
		for i, pt := range parts {
			if pt.rank > parts[worst].rank {
				worst = i
			}
		}
		parts = append(parts[:worst], parts[worst+1:]...)
	}
	if total() > room {
		parts[0].text = cut(parts[0].text, room-len(indent))
	}
	var b strings.Builder
	b.WriteString(indent)
	for i, pt := range parts {
		if i > 0 {
			b.WriteString(sep)
		}
		if pt.style != nil {
			b.WriteString(pt.style.Render(pt.text))
		} else {
			b.WriteString(pt.text)
		}
	}
	return b.String(), total()
}

// clockFormat returns how times are shown for a run of total: seconds
// ("45s") below a minute, else m:ss or h:mm:ss.
func clockFormat(total time.Duration) func(time.Duration) string {
	return func(d time.Duration) string {
		s := int64(d.Round(time.Second) / time.Second)
		switch {
		case total < time.Minute && d < time.Minute:
			return fmt.Sprintf("%ds", s)
		case total < time.Hour && d < time.Hour:
			return fmt.Sprintf("%d:%02d", s/60, s%60)
		}
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
}
