package report

import (
	"strings"
	"testing"
	"time"
)

func TestSig3(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0µs"},
		{812 * time.Microsecond, "812µs"},
		{1234 * time.Microsecond, "1.23ms"},
		{12345 * time.Microsecond, "12.3ms"},
		{123456 * time.Microsecond, "123ms"},
		{1234 * time.Millisecond, "1.23s"},
		{12345 * time.Millisecond, "12.3s"},
		{time.Hour + time.Second, "1h0m1s"},
		{-2 * time.Millisecond, "-2.00ms"},
	}
	for _, tt := range tests {
		if got := sig3(tt.d); got != tt.want {
			t.Errorf("sig3(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestNumbers(t *testing.T) {
	tests := []struct{ got, want string }{
		{count(0), "0"}, {count(999), "999"}, {count(1000), "1,000"}, {count(1234567), "1,234,567"}, {count(-12345), "-12,345"},
		{si(0), "0"}, {si(0.25), "0.25"}, {si(6.5), "6.5"}, {si(37.5), "37.5"}, {si(375.1), "375"},
		{si(4800), "4.8k"}, {si(12000), "12k"}, {si(1250000), "1.25M"}, {si(3e9), "3G"},
		{bytesText(812), "812 B"}, {bytesText(540180), "540.2 kB"}, {bytesText(18123456), "18.1 MB"},
		{secs(10), "10s"}, {secs(3.5), "3.5s"}, {secs(90), "1m30s"}, {secs(0), "0s"},
		{perSecond(10, 0), "–/s"}, {perSecond(10, 4), "2.5/s"},
	}
	for i, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%d: got %q, want %q", i, tt.got, tt.want)
		}
	}
}

func TestPack(t *testing.T) {
	tests := []struct {
		items       []string
		first, rest int
		want        []string
	}{
		{[]string{"aa", "bb", "cc"}, 20, 20, []string{"aa · bb · cc"}},
		{[]string{"aa", "bb", "cc"}, 7, 7, []string{"aa · bb", "cc"}},
		{[]string{"aaaa", "bb"}, 4, 10, []string{"aaaa", "bb"}},
		{[]string{"a-very-long-item", "b"}, 10, 10, []string{"a-very-lo…", "b"}},
		{nil, 10, 10, nil},
	}
	for _, tt := range tests {
		got := pack(tt.items, " · ", tt.first, tt.rest)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("pack(%q, %d, %d) = %q, want %q", tt.items, tt.first, tt.rest, got, tt.want)
		}
	}
}

func TestWrap(t *testing.T) {
	tests := []struct {
		text string
		w    int
		want []string
	}{
		{"one two three", 20, []string{"one two three"}},
		{"one two three", 7, []string{"one two", "three"}},
		{"supercalifragilistic word", 8, []string{"superca…", "word"}},
		{"", 10, nil},
	}
	for _, tt := range tests {
		if got := wrap(tt.text, tt.w); strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("wrap(%q, %d) = %q, want %q", tt.text, tt.w, got, tt.want)
		}
	}
}

func TestFitWidth(t *testing.T) {
	for _, tt := range []struct{ in, want int }{{0, DefaultWidth}, {-5, DefaultWidth}, {10, MinWidth}, {MinWidth, MinWidth}, {200, 200}} {
		if got := fitWidth(tt.in); got != tt.want {
			t.Errorf("fitWidth(%d) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
