package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/rtbench/rtbench/bench"
)

// DiffCheck is one --fail-if condition of `rtbench diff` and its outcome.
type DiffCheck struct {
	Condition string `json:"condition"`
	Change    string `json:"change"`
	Regressed bool   `json:"regressed"`
}

// DiffDoc is the JSON of `rtbench diff --json` (schema rtbench.diff/v1).
type DiffDoc struct {
	Schema string          `json:"schema"`
	Base   DiffSide        `json:"base"`
	New    DiffSide        `json:"new"`
	Rows   []bench.DiffRow `json:"rows"`
	Checks []DiffCheck     `json:"checks,omitempty"`
}

// DiffSide names one of the two runs compared.
type DiffSide struct {
	File    string `json:"file"`
	RunID   string `json:"run_id,omitempty"`
	Target  string `json:"target"`
	Pattern string `json:"pattern"`
}

// DiffSchema is the schema string of DiffDoc.
const DiffSchema = "rtbench.diff/v1"

// NewDiffSide describes result r read from file.
func NewDiffSide(file string, r *bench.Result) DiffSide {
	s := DiffSide{File: file, Target: r.Target.URL, Pattern: r.Target.Pattern}
	if r.Run != nil {
		s.RunID = r.Run.ID
	}
	return s
}

// DiffJSON writes doc as indented JSON.
func DiffJSON(w io.Writer, doc DiffDoc) error {
	doc.Schema = DiffSchema
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(JSONSafe(append(b, '\n')))
	return err
}

// DiffText writes the two runs side by side, one row per metric, and the
// --fail-if outcomes.
func DiffText(w io.Writer, doc DiffDoc, o TextOptions) error {
	st := newLoadStyles(w, o.Color)
	var b strings.Builder
	side := func(label string, s DiffSide) {
		id := ""
		if s.RunID != "" {
			id = " (run " + Visible(s.RunID) + ")"
		}
		fmt.Fprintf(&b, "%s %s%s · %s · %s\n", st.key.Render(label), Visible(s.File), id, Visible(s.Pattern), Visible(s.Target))
	}
	side("base", doc.Base)
	side("new ", doc.New)
	b.WriteByte('\n')
	head := []string{"metric", "base", "new", "change", "%"}
	widths := make([]int, len(head))
	var rows [][]string
	for _, r := range doc.Rows {
		row := []string{r.Name, diffValue(r.Base, r.Unit, r.Missing == "base" || r.Missing == "both"),
			diffValue(r.New, r.Unit, r.Missing == "new" || r.Missing == "both"), "", ""}
		if r.Missing == "" {
			row[3] = signed(r.Change, r.Unit)
			if r.ChangePct != nil {
				row[4] = fmt.Sprintf("%+.1f%%", *r.ChangePct)
			}
		}
		rows = append(rows, row)
	}
	for i, h := range head {
		widths[i] = textWidth(h)
		for _, r := range rows {
			widths[i] = max(widths[i], textWidth(r[i]))
		}
	}
	b.WriteString(st.table(o.Color, head, rows, widths))
	b.WriteByte('\n')
	if len(doc.Checks) > 0 {
		b.WriteString("\nfail-if\n")
		for _, c := range doc.Checks {
			mark := st.good.Render("ok        ")
			if c.Regressed {
				mark = st.bad.Render("REGRESSED ")
			}
			fmt.Fprintf(&b, "  %s %s: %s\n", mark, Visible(c.Condition), Visible(c.Change))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func diffValue(v float64, unit string, missing bool) string {
	if missing {
		return "—"
	}
	return strconv.FormatFloat(round3(v), 'f', -1, 64) + unit
}

func signed(v float64, unit string) string {
	s := strconv.FormatFloat(round3(v), 'f', -1, 64)
	if v >= 0 {
		s = "+" + s
	}
	return s + unit
}

// round3 keeps three decimals: the table shows ms to the µs.
func round3(v float64) float64 {
	if v > 1e12 || v < -1e12 {
		return v
	}
	return float64(int64(v*1000+copysignHalf(v))) / 1000
}

func copysignHalf(v float64) float64 {
	if v < 0 {
		return -0.5
	}
	return 0.5
}
