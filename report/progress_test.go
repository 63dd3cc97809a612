package report

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rtbench/rtbench/bench"
)

var progressCases = []struct {
	name  string
	o     ProgressOptions
	s     bench.Progress
	want  []string // parts that must be there
	wantN []string // parts that must not
}{
	{"closed", ProgressOptions{Total: time.Minute, Width: 100},
		bench.Progress{Elapsed: 12 * time.Second, Open: 480, Target: 500, EventsPerSec: 4800, Headline: bench.Delivery, HeadlineP99: 3200 * time.Microsecond, HeadlineOK: true},
		[]string{"0:12/1:00", "sessions 480/500", "events 4.8k/s", "errors 0", "p99 delivery 3.20ms"}, []string{"warmup", "requests", "dropped"}},
	{"warmup", ProgressOptions{Total: 30 * time.Second, Width: 100},
		bench.Progress{Elapsed: 2 * time.Second, Warmup: true, Open: 20, Target: 50},
		[]string{"2s/30s", "warmup", "sessions 20/50", "events 0/s"}, []string{"p99"}},
	{"open-model", ProgressOptions{Total: 10 * time.Minute, Width: 100},
		bench.Progress{Elapsed: 75 * time.Second, Open: 12, Rate: 200, RequestsPerSec: 198, EventsPerSec: 150, Errors: 3, Dropped: 7, Headline: bench.Request, HeadlineP99: 41 * time.Millisecond, HeadlineOK: true},
		[]string{"1:15/10:00", "rate 200/s  in flight 12", "requests 198/s", "errors 3", "dropped 7", "p99 request 41.0ms"}, []string{"sessions"}},
	{"no-total", ProgressOptions{Width: 80},
		bench.Progress{Elapsed: 90 * time.Minute, Open: 1, Target: 1},
		[]string{"1:30:00", "sessions 1/1"}, []string{"/1:"}},
	{"narrow", ProgressOptions{Total: time.Minute, Width: 40},
		bench.Progress{Elapsed: 12 * time.Second, Open: 480, Target: 500, EventsPerSec: 4800, Errors: 2, Headline: bench.Delivery, HeadlineP99: 3200 * time.Microsecond, HeadlineOK: true},
		[]string{"0:12/1:00", "p99 delivery 3.20ms"}, []string{"events", "sessions", "errors"}},
	{"color", ProgressOptions{Total: time.Minute, Width: 100, Color: true},
		bench.Progress{Elapsed: 12 * time.Second, Open: 480, Target: 500, Errors: 5, Dropped: 1, Headline: bench.TTFT, HeadlineP99: 2 * time.Second, HeadlineOK: true},
		[]string{"\x1b[1;31merrors 5\x1b[0m", "p99 ttft 2.00s"}, nil},
}

func TestProgressLine(t *testing.T) {
	var all bytes.Buffer
	for _, tt := range progressCases {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			p := NewProgress(&out, tt.o)
			line, w := p.line(tt.s)
			if got := textWidth(line); got != w || w > fitWidth(tt.o.Width)-1 {
				t.Errorf("width %d (reported %d), want ≤ %d: %q", got, w, fitWidth(tt.o.Width)-1, line)
			}
			for _, s := range tt.want {
				if !strings.Contains(line, s) {
					t.Errorf("%q lacks %q", line, s)
				}
			}
			for _, s := range tt.wantN {
				if strings.Contains(line, s) {
					t.Errorf("%q has %q", line, s)
				}
			}
			fmt.Fprintf(&all, "%-10s|%s|\n", tt.name, line)
		})
	}
	golden(t, "progress/lines.txt", all.Bytes())
}

// Update rewrites the line in place, rubbing out a longer previous line
// with spaces; Done clears it; Off and nil print nothing.
func TestProgressUpdateDone(t *testing.T) {
	var out bytes.Buffer
	p := NewProgress(&out, ProgressOptions{Total: time.Minute, Width: 80})
	p.Done() // nothing shown yet: nothing to clear
	if out.Len() != 0 {
		t.Fatalf("Done before Update wrote %q", out.String())
	}
	long := bench.Progress{Elapsed: time.Second, Open: 10000, Target: 10000, EventsPerSec: 123456, Errors: 123456}
	short := bench.Progress{Elapsed: 2 * time.Second}
	p.Update(long)
	first := out.String()
	l1, w1 := p.line(long)
	if first != "\r"+l1 {
		t.Errorf("first update = %q, want %q", first, "\r"+l1)
	}
	out.Reset()
	p.Update(short)
	l2, w2 := p.line(short)
	if want := "\r" + l2 + strings.Repeat(" ", w1-w2); out.String() != want {
		t.Errorf("second update = %q, want %q", out.String(), want)
	}
	out.Reset()
	p.Done()
	if want := "\r" + strings.Repeat(" ", w2) + "\r"; out.String() != want {
		t.Errorf("Done = %q, want %q", out.String(), want)
	}
	out.Reset()
	p.Done()
	if out.Len() != 0 {
		t.Errorf("second Done wrote %q", out.String())
	}

	off := NewProgress(&out, ProgressOptions{Off: true})
	off.Update(long)
	off.Done()
	var nilP *Progress
	nilP.Update(long)
	nilP.Done()
	if out.Len() != 0 {
		t.Errorf("Off or nil wrote %q", out.String())
	}
}

// The engine calls Update from its goroutine while the command may call
// Done from another: -race checks the lock.
func TestProgressConcurrent(t *testing.T) {
	var out bytes.Buffer
	p := NewProgress(&out, ProgressOptions{Total: time.Minute})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 100 {
			p.Update(bench.Progress{Elapsed: time.Duration(i) * time.Second})
		}
	}()
	p.Done()
	wg.Wait()
	p.Done()
	if !strings.HasSuffix(out.String(), "\r") {
		t.Errorf("not cleared at the end: %q", out.String())
	}
}

func TestClockFormat(t *testing.T) {
	tests := []struct {
		total, d time.Duration
		want     string
	}{
		{30 * time.Second, 12 * time.Second, "12s"},
		{30 * time.Second, 1500 * time.Millisecond, "2s"},
		{30 * time.Second, 65 * time.Second, "1:05"}, // past the plan (stopping)
		{time.Minute, 0, "0:00"},
		{10 * time.Minute, 75 * time.Second, "1:15"},
		{2 * time.Hour, 75 * time.Second, "0:01:15"},
		{0, 90 * time.Minute, "1:30:00"},
	}
	for _, tt := range tests {
		if got := clockFormat(tt.total)(tt.d); got != tt.want {
			t.Errorf("clock(total %v)(%v) = %q, want %q", tt.total, tt.d, got, tt.want)
		}
	}
}

func BenchmarkProgressUpdate(b *testing.B) {
	p := NewProgress(io.Discard, ProgressOptions{Total: time.Minute, Width: 100, Color: true})
	s := bench.Progress{Elapsed: 12 * time.Second, Open: 480, Target: 500, EventsPerSec: 4800, Errors: 3, Headline: bench.Delivery, HeadlineP99: 3200 * time.Microsecond, HeadlineOK: true}
	b.ReportAllocs()
	for b.Loop() {
		p.Update(s)
	}
}
