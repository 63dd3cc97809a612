package report

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/lipgloss/table"
	"github.com/muesli/termenv"
)

// Widths of the load reports (text and progress line).
const (
	// DefaultWidth is the width used when none is given: a terminal whose
	// width is unknown, or a pipe.
	DefaultWidth = 80
	// MinWidth is the narrowest the reports shrink to; a smaller width is
	// taken as MinWidth.
	MinWidth = 40
)

func fitWidth(w int) int {
	switch {
	case w <= 0:
		return DefaultWidth
	case w < MinWidth:
		return MinWidth
	}
	return w
}

// loadStyles are the styles of the load report and the progress line,
// built from a renderer bound to the writer. Colour off gives the Ascii
// profile (no escapes at all); colour on gives the 16-colour ANSI profile,
// which is all the palette uses, so output is the same on every colour
// terminal (and byte-stable in golden tests).
type loadStyles struct {
	title, dim, key, name, bar, good, bad, warn, loud, border lipgloss.Style
	r                                                         *lipgloss.Renderer
}

func newLoadStyles(w io.Writer, color bool) loadStyles {
	r := lipgloss.NewRenderer(w)
	if color {
		r.SetColorProfile(termenv.ANSI)
	} else {
		r.SetColorProfile(termenv.Ascii)
	}
	return loadStyles{
		r:      r,
		title:  r.NewStyle().Bold(true),
		dim:    r.NewStyle().Faint(true),
		key:    r.NewStyle().Faint(true),
		name:   r.NewStyle().Foreground(lipgloss.Color("6")),
		bar:    r.NewStyle().Foreground(lipgloss.Color("2")),
		good:   r.NewStyle().Foreground(lipgloss.Color("2")).Bold(true),
		bad:    r.NewStyle().Foreground(lipgloss.Color("1")).Bold(true),
		warn:   r.NewStyle().Foreground(lipgloss.Color("3")).Bold(true),
		loud:   r.NewStyle().Foreground(lipgloss.Color("1")).Bold(true),
		border: r.NewStyle().Faint(true),
	}
}

// dur turns a result's milliseconds into a Duration, to the nanosecond.
func dur(msv float64) time.Duration {
	return time.Duration(math.Round(msv * float64(time.Millisecond)))
}

// secs formats a result's seconds: "10s", "1m30s", "3.5s".
func secs(s float64) string {
	return (time.Duration(math.Round(s*1000)) * time.Millisecond).String()
}

// sig3 formats a duration with three significant digits: 812µs, 1.23ms,
// 12.3ms, 123ms, 1.23s. Histogram bucket edges need the extra digit that ms
// leaves out.
func sig3(d time.Duration) string {
	switch {
	case d < 0:
		return "-" + sig3(-d)
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000)
	case d < 100*time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000)
	case d < time.Second:
		return fmt.Sprintf("%.0fms", float64(d.Microseconds())/1000)
	case d < 10*time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d < 100*time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}

// count formats an exact count with thousands separators: 1,234,567.
func count(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// si formats a rate or an amount compactly: 0.25, 37.5, 375, 4.8k, 1.25M.
func si(x float64) string {
	a := math.Abs(x)
	switch {
	case a == 0:
		return "0"
	case a < 10:
		return trimZero(fmt.Sprintf("%.2f", x))
	case a < 100:
		return trimZero(fmt.Sprintf("%.1f", x))
	case a < 1e3:
		return fmt.Sprintf("%.0f", x)
	case a < 1e6:
		return trimZero(fmt.Sprintf("%.1f", x/1e3)) + "k"
	case a < 1e9:
		return trimZero(fmt.Sprintf("%.2f", x/1e6)) + "M"
	}
	return trimZero(fmt.Sprintf("%.2f", x/1e9)) + "G"
}

func trimZero(s string) string {
	if !strings.Contains(s, ".") {
		return s
	}
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// bytesText formats a byte amount in decimal units: 812 B, 540.2 kB, 1.3 MB.
func bytesText(x float64) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	i := 0
	for math.Abs(x) >= 1000 && i < len(units)-1 {
		x /= 1000
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f B", x)
	}
	return fmt.Sprintf("%.1f %s", x, units[i])
}

// width is the number of terminal cells s takes (ANSI escapes excluded).
func textWidth(s string) int { return lipgloss.Width(s) }

// padRight pads plain s with spaces to n cells; padLeft right-aligns it.
func padRight(s string, n int) string { return s + strings.Repeat(" ", max(n-textWidth(s), 0)) }
func padLeft(s string, n int) string  { return strings.Repeat(" ", max(n-textWidth(s), 0)) + s }

// table renders one of the text reports' tables (load's metric groups,
// diff's runs side by side): the first column names, padded right to
// widths[0], the others values, padded left to widths[i], so that tables
// rendered apart line up; a rounded border with colour, ASCII without; the
// header in the title style, the names in the name style.
func (st loadStyles) table(color bool, head []string, rows [][]string, widths []int) string {
	border := lipgloss.ASCIIBorder()
	if color {
		border = lipgloss.RoundedBorder()
	}
	pad := func(r []string) []string {
		out := make([]string, len(r))
		for i, c := range r {
			if i == 0 {
				out[i] = padRight(c, widths[i])
			} else {
				out[i] = padLeft(c, widths[i])
			}
		}
		return out
	}
	t := table.New().Border(border).BorderStyle(st.border).Headers(pad(head)...)
	for _, r := range rows {
		t.Row(pad(r)...)
	}
	t.StyleFunc(func(row, col int) lipgloss.Style {
		switch {
		case row == table.HeaderRow:
			return st.title.Padding(0, 1)
		case col == 0:
			return st.name.Padding(0, 1)
		}
		return st.r.NewStyle().Padding(0, 1)
	})
	return t.Render()
}

// pack joins items with sep into lines: the first line has firstRoom
// cells, the others room (the caller writes the prefixes). An item wider
// than a line is cut.
func pack(items []string, sep string, firstRoom, room int) []string {
	var lines []string
	cur, curW, avail := "", 0, firstRoom
	for _, it := range items {
		if cur != "" && curW+textWidth(sep)+textWidth(it) <= avail {
			cur += sep + it
			curW += textWidth(sep) + textWidth(it)
			continue
		}
		if cur != "" {
			lines = append(lines, cur)
			avail = room
		}
		cur = cut(it, max(avail, 8))
		curW = textWidth(cur)
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}

// wrap splits text into lines of at most w cells at spaces.
func wrap(text string, w int) []string {
	words := strings.Fields(text)
	var lines []string
	var cur string
	for _, word := range words {
		word = cut(word, w)
		switch {
		case cur == "":
			cur = word
		case textWidth(cur)+1+textWidth(word) <= w:
			cur += " " + word
		default:
			lines = append(lines, cur)
			cur = word
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}
