package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/rtbench/rtbench/bench/check"
)

// JUnit XML, in the shape CI systems read (Jenkins, GitLab, GitHub
// reporters): <testsuites> with one <testsuite> per check and one
// <testcase> per outcome. A failed outcome carries <failure message type>,
// a check that could not reach its target one <error>, a skipped outcome
// <skipped>, and a warning passes with the finding in <system-out>.

// JUnitSuites is the document's root.
type JUnitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []JUnitSuite `xml:"testsuite"`
}

// JUnitSuite is one check.
type JUnitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []JUnitProperty `xml:"properties>property,omitempty"`
	Cases      []JUnitCase     `xml:"testcase"`
}

// JUnitProperty is one name=value of a suite.
type JUnitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// JUnitCase is one outcome.
type JUnitCase struct {
	Classname string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *JUnitProblem `xml:"failure,omitempty"`
	Error     *JUnitProblem `xml:"error,omitempty"`
	Skipped   *JUnitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

// JUnitProblem is a <failure> or an <error>.
type JUnitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// JUnitSkipped is a <skipped>.
type JUnitSkipped struct {
	Message string `xml:"message,attr,omitempty"`
}

func junitSecs(s float64) string { return fmt.Sprintf("%.3f", s) }

// CheckJUnitDoc builds the JUnit document of results.
func CheckJUnitDoc(results []*check.Result) JUnitSuites {
	doc := JUnitSuites{Name: "rtbench check"}
	var longest float64
	for _, r := range results {
		s := JUnitSuite{
			Name:      r.Name,
			Time:      junitSecs(r.Duration.Seconds()),
			Timestamp: r.Start.Round(0).UTC().Format("2006-01-02T15:04:05"),
			Properties: []JUnitProperty{
				{Name: "url", Value: r.URL},
				{Name: "mode", Value: r.Mode},
				{Name: "sessions", Value: fmt.Sprint(r.Sessions)},
			},
		}
		for _, o := range r.Outcomes {
			c := JUnitCase{Classname: "rtbench.check." + junitClass(r.Name), Name: o.Name, Time: junitSecs(o.Elapsed.Seconds())}
			line := CheckLine(o)
			switch {
			case o.Verdict == check.Fail && o.Kind == check.KindReach:
				c.Error = &JUnitProblem{Message: o.Measured, Type: "unreachable", Text: line}
				s.Errors++
			case o.Verdict == check.Fail:
				msg := o.Measured
				if o.Want != "" {
					msg += " (want " + o.Want + ")"
				}
				c.Failure = &JUnitProblem{Message: msg, Type: o.Kind, Text: line}
				s.Failures++
			case o.Verdict == check.Skip:
				c.Skipped = &JUnitSkipped{Message: o.Reason}
				s.Skipped++
			case o.Verdict == check.Warn:
				c.SystemOut = "WARN " + o.Kind + ": " + line
			}
			s.Cases = append(s.Cases, c)
		}
		s.Tests = len(s.Cases)
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
		longest = max(longest, r.Duration.Seconds())
		doc.Suites = append(doc.Suites, s)
	}
	doc.Time = junitSecs(longest)
	return doc
}

// junitClass makes a check name a dotted class name's last part: CI
// reporters split classnames at dots.
func junitClass(name string) string {
	return strings.NewReplacer(".", "_", " ", "_").Replace(name)
}

// CheckJUnit writes results as a JUnit XML document.
func CheckJUnit(w io.Writer, results []*check.Result) error {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(CheckJUnitDoc(results)); err != nil {
		return fmt.Errorf("check junit: %w", err)
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}
