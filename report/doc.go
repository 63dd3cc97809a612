// Package report renders what rtbench measured: listen's event lines and
// summaries, load reports (text, live progress, JSON, HTML). It
// formats and never measures: every number it prints is a field of an
// observation or a result it was given.
package report
