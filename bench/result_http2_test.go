package bench

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestHTTP2Result(t *testing.T) {
	h := NewHTTP2Result(1, 2, 1, 501)
	if h.StreamsPerConnection != 250.5 {
		t.Errorf("streams per connection %v, want 250.5", h.StreamsPerConnection)
	}
	if z := NewHTTP2Result(1, 0, 0, 0); z.StreamsPerConnection != 0 {
		t.Errorf("no connection: %v per connection", z.StreamsPerConnection)
	}
	for _, tc := range []struct {
		a, b, want *HTTP2Result
	}{
		{nil, nil, nil},
		{h, nil, h},
		{nil, h, h},
		{NewHTTP2Result(1, 1, 1, 500), NewHTTP2Result(4, 4, 4, 100), &HTTP2Result{5, 5, 5, 600, 120}},
	} {
		got := mergeHTTP2(tc.a, tc.b)
		if (got == nil) != (tc.want == nil) || got != nil && *got != *tc.want {
			t.Errorf("merge(%+v, %+v) = %+v, want %+v", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestHTTP2RoundTrip: the http2 object survives a save and a read, a merge
// sums it, and a result without it stays without it.
func TestHTTP2RoundTrip(t *testing.T) {
	a := mustResult(t, pushRecording(11, t0, 0), pushMeta("a"))
	b := mustResult(t, pushRecording(12, t0, 0), pushMeta("b"))
	a.HTTP2 = NewHTTP2Result(1, 1, 1, 500)
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(a); err != nil {
		t.Fatal(err)
	}
	back, err := Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if back.HTTP2 == nil || *back.HTTP2 != *a.HTTP2 {
		t.Fatalf("read back %+v, want %+v", back.HTTP2, a.HTTP2)
	}
	m, err := Merge(back, b)
	if err != nil {
		t.Fatal(err)
	}
	if m.HTTP2 == nil || m.HTTP2.Streams != 500 || m.HTTP2.ConnectionsOpened != 1 {
		t.Errorf("merged %+v", m.HTTP2)
	}
	if m, _ := Merge(b, b); m.HTTP2 != nil {
		t.Errorf("a merge of HTTP/1.1 results has http2 %+v", m.HTTP2)
	}
}
