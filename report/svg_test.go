package report

import (
	"encoding/xml"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
)

// svgElem is an element of a parsed SVG fragment.
type svgElem struct {
	name  string
	attrs map[string]string
	text  string // the text directly inside
}

// parseSVG parses s strictly as XML (an SVG fragment must be well formed)
// and returns its elements in document order.
func parseSVG(t *testing.T, s string) []svgElem {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	var out []svgElem
	var stack []int
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, s)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			e := svgElem{name: tok.Name.Local, attrs: map[string]string{}}
			for _, a := range tok.Attr {
				e.attrs[a.Name.Local] = a.Value
			}
			out = append(out, e)
			stack = append(stack, len(out)-1)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				out[stack[len(stack)-1]].text += string(tok)
			}
		}
	}
	return out
}

func num(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("attribute %q is not a number", s)
	}
	return f
}

func TestSVGHistogram(t *testing.T) {
	tests := []struct {
		name          string
		values        []time.Duration
		width, height int
		labels        bool
	}{
		{"large", spread(20, 3000, 4*time.Millisecond, 1.5), 720, 220, true},
		{"small", spread(21, 3000, 4*time.Millisecond, 1.5), 160, 28, false},
		{"one value", repeat(time.Millisecond, 5), 300, 100, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := histOf(tt.values...)
			bs := logBuckets(h, HistogramRows)
			els := parseSVG(t, string(svgHistogram(h, tt.width, tt.height)))
			if els[0].name != "svg" || els[0].attrs["width"] != strconv.Itoa(tt.width) || els[0].attrs["height"] != strconv.Itoa(tt.height) {
				t.Errorf("root %+v", els[0])
			}
			var bars []svgElem
			texts := 0
			for _, e := range els {
				switch {
				case e.name == "rect" && e.attrs["class"] == "bar":
					bars = append(bars, e)
				case e.name == "text":
					texts++
				}
			}
			if len(bars) != len(bs) {
				t.Fatalf("%d bars, want one per bucket (%d)", len(bars), len(bs))
			}
			// Bar heights follow the counts: the fullest bucket is the
			// tallest, an empty one has no height, all inside the box.
			var peak int64
			for _, b := range bs {
				peak = max(peak, b.Count)
			}
			var tallest float64
			for i, e := range bars {
				if bs[i].Count == peak {
					tallest = num(t, e.attrs["height"])
				}
			}
			for i, e := range bars {
				x, y, w, hgt := num(t, e.attrs["x"]), num(t, e.attrs["y"]), num(t, e.attrs["width"]), num(t, e.attrs["height"])
				if x < 0 || y < 0 || x+w > float64(tt.width)+0.1 || y+hgt > float64(tt.height)+0.1 {
					t.Errorf("bar %d outside the box: %+v", i, e.attrs)
				}
				if (bs[i].Count == 0) != (hgt == 0) {
					t.Errorf("bar %d: count %d, height %v", i, bs[i].Count, hgt)
				}
				if hgt > tallest+0.05 {
					t.Errorf("bar %d (count %d) taller than the fullest", i, bs[i].Count)
				}
			}
			if tt.labels != (texts > 0) {
				t.Errorf("labels: %d texts", texts)
			}
		})
	}
	if got := svgHistogram(histOf(), 100, 100); got != "" {
		t.Errorf("empty histogram: %q", got)
	}
}

func TestSVGSeries(t *testing.T) {
	c := seriesChart{
		Title: `sessions <open> & "closed"`,
		T:     []float64{0, 1, 2, 3, 4},
		Step:  1,
		Lines: []chartLine{{Name: "open", Values: []float64{0, 10, 20, 20, 5}}, {Name: "a<b", Values: []float64{1, 2, 3, 4, 5}}},
		Warm:  2,
		Width: 600, Height: 150,
	}
	s := string(svgSeries(c))
	if strings.Contains(s, "<open>") || strings.Contains(s, "a<b") {
		t.Fatalf("unescaped text in %s", s)
	}
	els := parseSVG(t, s)
	var lines, warm int
	var texts []string
	for _, e := range els {
		switch {
		case e.name == "polyline":
			lines++
			pts := strings.Fields(e.attrs["points"])
			if len(pts) != len(c.T) {
				t.Errorf("polyline with %d points, want %d", len(pts), len(c.T))
			}
			for _, p := range pts {
				xy := strings.Split(p, ",")
				x, y := num(t, xy[0]), num(t, xy[1])
				if x < 0 || x > 600 || y < 0 || y > 150 {
					t.Errorf("point %s outside the box", p)
				}
			}
		case e.name == "rect" && e.attrs["class"] == "warm":
			warm++
			// Warmup is 2 s of 5: 40 % of the plot's width.
			if w := num(t, e.attrs["width"]); w < 0.39*(600-60) || w > 0.41*(600-60) {
				t.Errorf("warmup width %v", w)
			}
		case e.name == "text":
			texts = append(texts, e.text)
		}
	}
	if lines != 2 || warm != 1 {
		t.Errorf("%d polylines, %d warmup rects", lines, warm)
	}
	joined := strings.Join(texts, "|")
	for _, want := range []string{"■ open", "■ a<b", "20", "0s", "5s"} {
		if !strings.Contains(joined, want) {
			t.Errorf("texts %q lack %q", joined, want)
		}
	}
	if svgSeries(seriesChart{Width: 100, Height: 100}) != "" {
		t.Error("a chart with no data is not empty")
	}
}

func TestNiceCeil(t *testing.T) {
	tests := []struct{ in, want float64 }{
		{0, 1}, {-3, 1}, {1, 1}, {1.2, 2}, {3, 5}, {7, 10}, {50, 50}, {51, 100}, {0.03, 0.05}, {980, 1000},
	}
	for _, tt := range tests {
		if got := niceCeil(tt.in); got < tt.want*0.999999 || got > tt.want*1.000001 {
			t.Errorf("niceCeil(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
