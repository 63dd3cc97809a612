package poll

import (
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport"
)

// TestProtocolNew: the table's SessionOptions reach the client. A held
// session (neither One nor Once) given OwnHTTP builds a client of its own
// from them, from its LocalAddr; a one-request session keeps the shared
// client; ClosedLoop and Stamp pass through, and the knobs name the closed
// loop.
func TestProtocolNew(t *testing.T) {
	shared := &http.Client{}
	own := transport.HTTPOptions{TTFBTimeout: 3 * time.Second}
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}
	stamp := &transport.StampSpec{Path: "data.ts"}
	base := transport.SessionOptions{HTTP: shared, OwnHTTP: &own, LocalAddr: addr, ClosedLoop: true, Stamp: stamp}
	for _, tc := range []struct {
		name      string
		one, once bool
		wantOwn   bool
	}{
		{"held", false, false, true},
		{"one request", true, false, false},
		{"once", false, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := base
			o.One, o.Once = tc.one, tc.once
			c := Protocol.New(o).(*Client)
			if tc.wantOwn {
				if c.HTTP != nil || c.HTTPOptions.TTFBTimeout != own.TTFBTimeout || c.HTTPOptions.LocalAddr != addr {
					t.Errorf("HTTP %v, options %+v: want a client of its own from OwnHTTP, from %v", c.HTTP, c.HTTPOptions, addr)
				}
			} else if c.HTTP != shared {
				t.Errorf("HTTP %v: want the shared client", c.HTTP)
			}
			if !c.ClosedLoop || c.Stamp != stamp {
				t.Errorf("closed loop %v, stamp %v: want true, %v", c.ClosedLoop, c.Stamp, stamp)
			}
		})
	}
	if got := Protocol.Knobs(base)["interval"]; got != "0 (closed loop)" {
		t.Errorf("interval knob %q, want the closed loop", got)
	}
}
