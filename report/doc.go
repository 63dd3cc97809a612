// Package report renders what rtbench measured: listen's event lines and
// summaries now, load and compare reports (text, JSON, HTML) later. It
// formats and never measures: every number it prints is a field of an
// observation or a result it was given.
package report
