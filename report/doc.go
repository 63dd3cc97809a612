// Package report renders what rtbench measured. It formats and never
// measures: every number it prints is a field of an observation or a result
// it was given. What it renders today:
//
//   - listen: one line per event (terminal, pipe or JSON; Listener) and the
//     closing summary (ListenSummary);
//   - load and report: the text report (LoadText), the result document
//     (LoadJSON: rtbench.result/v1, the document --out saves), the
//     self-contained HTML page (LoadHTML), the live progress line
//     (Progress) and the live Prometheus metrics (LiveMetrics);
//   - check: text, one rtbench.check/v1 JSON document and JUnit XML
//     (CheckText, CheckJSON, CheckJUnit);
//   - compare: the side-by-side text table with histograms and the decision
//     guide, JSON and the HTML page (CompareText, CompareJSON, CompareHTML);
//   - the pieces they share: terminal histograms, SVG charts, the sessions
//     timeline and the outages table.
package report
