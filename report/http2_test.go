package report

import (
	"testing"

	"github.com/rtbench/rtbench/bench"
)

func TestHTTP2Text(t *testing.T) {
	for _, tc := range []struct {
		h    *bench.HTTP2Result
		want string
	}{
		{bench.NewHTTP2Result(1, 1, 1, 500), "HTTP/2: 500 streams over 1 connection (500 streams per connection)"},
		{bench.NewHTTP2Result(4, 4, 4, 1), "HTTP/2: 1 stream over 4 connections (0.25 streams per connection)"},
		{bench.NewHTTP2Result(1, 3, 2, 12000), "HTTP/2: 12,000 streams over 3 connections (4000 streams per connection), 1 asked"},
	} {
		if got := HTTP2Text(tc.h); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
}
