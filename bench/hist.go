package bench

import (
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram range and precision, the same for every metric so that any two
// histograms merge exactly: microseconds from 1 µs to 1 hour, 3 significant
// digits (a value is known to within 0.1 %).
const (
	HistLowest  = 1
	HistHighest = int64(time.Hour / time.Microsecond)
	HistDigits  = 3
)

// Hist is an HdrHistogram of durations in microseconds that never drops a
// value silently: a value above the range is recorded at the top and counted
// in Overflow; a negative value (an event that "arrived before it was sent",
// from clock skew between hosts) is recorded as 0 and counted in Negative.
// A Hist is not safe for concurrent use.
type Hist struct {
	h        *hdrhistogram.Histogram
	Overflow int64
	Negative int64
}

// NewHist returns an empty histogram.
func NewHist() *Hist {
	return &Hist{h: hdrhistogram.New(HistLowest, HistHighest, HistDigits)}
}

// Record adds one duration.
func (h *Hist) Record(d time.Duration) {
	us := d.Microseconds()
	switch {
	case d < 0:
		h.Negative++
		us = 0
	case us > HistHighest:
		h.Overflow++
		us = HistHighest
	}
	// Within range RecordValue cannot fail.
	_ = h.h.RecordValue(us)
}

// RecordCorrected adds d, and when d is longer than interval the values a
// recorder sampling every interval missed meanwhile: d − interval,
// d − 2·interval, … down to interval (HdrHistogram's RecordCorrectedValue,
// as jHiccup records). Only for a recorder that samples at a fixed
// interval, like the self-check; never for request or event latencies.
func (h *Hist) RecordCorrected(d, interval time.Duration) {
	h.Record(d)
	if interval <= 0 {
		return
	}
	for d -= interval; d >= interval; d -= interval {
		h.Record(d)
	}
}

// Merge adds every value of o. Both have the same geometry, so the merge is
// exact.
func (h *Hist) Merge(o *Hist) {
	h.h.Merge(o.h)
	h.Overflow += o.Overflow
	h.Negative += o.Negative
}

// Reset empties the histogram.
func (h *Hist) Reset() {
	h.h.Reset()
	h.Overflow, h.Negative = 0, 0
}

// Count is the number of values recorded.
func (h *Hist) Count() int64 { return h.h.TotalCount() }

// Quantile returns the value at quantile q, from 0 to 100 (HdrHistogram's
// convention: 99.9 is p99.9).
func (h *Hist) Quantile(q float64) time.Duration {
	return us(h.h.ValueAtQuantile(q))
}

// Min, Max and Mean of the recorded values.
func (h *Hist) Min() time.Duration { return us(h.h.Min()) }
func (h *Hist) Max() time.Duration { return us(h.h.Max()) }
func (h *Hist) Mean() time.Duration {
	return time.Duration(h.h.Mean() * float64(time.Microsecond))
}

// ShareAbove is the share (0 to 1) of the recorded values above d, to the
// histogram's precision.
func (h *Hist) ShareAbove(d time.Duration) float64 {
	n := h.Count()
	if n == 0 {
		return 0
	}
	limit := d.Microseconds()
	var above int64
	for _, b := range h.h.Distribution() {
		if b.From > limit {
			above += b.Count
		}
	}
	return float64(above) / float64(n)
}

// Bars returns the recorded distribution as (value, count) pairs, for
// drawing.
func (h *Hist) Bars() []hdrhistogram.Bar { return h.h.Distribution() }

// Equal reports whether two histograms hold the same values.
func (h *Hist) Equal(o *Hist) bool {
	return h.Overflow == o.Overflow && h.Negative == o.Negative && h.h.Equals(o.h)
}

func us(v int64) time.Duration { return time.Duration(v) * time.Microsecond }

// Encode returns the histogram in HdrHistogram's standard compressed form
// (V2 compressed encoding, which hdrhistogram-go already base64-encodes):
// the form the result file stores, which other HdrHistogram implementations
// read too and which decodes to exactly the same counts.
func (h *Hist) Encode() (string, error) { return encodeHDR(h) }
