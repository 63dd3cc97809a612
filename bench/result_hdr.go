package bench

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram decodes the metric's histogram.
func (m MetricResult) Histogram() (*Hist, error) {
	return decodeHDR(m.HDR, m.Overflow, m.Negative)
}

// encodeHDR returns HdrHistogram's standard V2 compressed encoding, which
// hdrhistogram-go already returns base64-encoded ("HISTFAAA…"): the form
// every HdrHistogram implementation reads. (Hist.Encode wraps it in a
// second base64 layer, so the file does not use it.)
func encodeHDR(h *Hist) (string, error) {
	b, err := h.h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// decodeHDR reverses encodeHDR. It reads the geometry from the header
// first, so a histogram of another geometry is refused before its counts
// are allocated.
func decodeHDR(s string, overflow, negative int64) (*Hist, error) {
	if s == "" {
		return nil, errors.New("empty")
	}
	lowest, highest, digits, err := hdrGeometry(s)
	if err != nil {
		return nil, err
	}
	if lowest != HistLowest || highest != HistHighest || digits != HistDigits {
		return nil, fmt.Errorf("histogram has range %d..%d µs with %d digits; rtbench writes %d..%d with %d",
			lowest, highest, digits, HistLowest, HistHighest, HistDigits)
	}
	h, err := hdrhistogram.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("histogram does not decode: %w", err)
	}
	return &Hist{h: h, Overflow: overflow, Negative: negative}, nil
}

// hdrGeometry reads lowest, highest and significant digits from an encoded
// histogram's header (V2 compressed: cookie, length, then a zlib stream
// whose first 40 bytes are the header).
func hdrGeometry(s string) (lowest, highest int64, digits int32, err error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("histogram is not base64: %w", err)
	}
	if len(b) < 8 {
		return 0, 0, 0, errors.New("histogram is too short")
	}
	cookie := int32(binary.BigEndian.Uint32(b[0:4])) &^ 0xf0
	if cookie != hdrhistogram.V2CompressedEncodingCookieBase {
		return 0, 0, 0, errors.New("histogram is not in HdrHistogram's V2 compressed encoding")
	}
	n := int64(int32(binary.BigEndian.Uint32(b[4:8])))
	if n < 0 || n > int64(len(b)-8) {
		return 0, 0, 0, errors.New("histogram is truncated")
	}
	z, err := zlib.NewReader(bytes.NewReader(b[8 : 8+n]))
	if err != nil {
		return 0, 0, 0, fmt.Errorf("histogram does not decompress: %w", err)
	}
	var hdr [40]byte
	if _, err := io.ReadFull(z, hdr[:]); err != nil {
		return 0, 0, 0, fmt.Errorf("histogram header does not decompress: %w", err)
	}
	digits = int32(binary.BigEndian.Uint32(hdr[12:16]))
	lowest = int64(binary.BigEndian.Uint64(hdr[16:24]))
	highest = int64(binary.BigEndian.Uint64(hdr[24:32]))
	return lowest, highest, digits, nil
}
