package client

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"

	"github.com/rtbench/rtbench/transport"
)

// Open picks the protocol for req: the one mode names, or else detection's
// (Detect), whose answer must Fit. When that sent no request (a forced mode, a WebSocket URL), a
// TCP connection checks that the target can be reached (Reachable), so an
// unreachable target fails here, as with detection, and not as endless
// reconnects or a run of failed sessions.
func Open(ctx context.Context, c *http.Client, req transport.Request, mode string) (*Detected, error) {
	var d *Detected
	if mode != "" {
		p := Lookup(mode)
		if p == nil {
			return nil, fmt.Errorf("mode %q: want %s", mode, Names())
		}
		d = &Detected{Protocol: p}
	} else {
		var err error
		if d, err = Detect(ctx, c, req); err != nil {
			return nil, err
		}
		if err := Fit(d); err != nil {
			return nil, err
		}
		if d.Opened != nil {
			return d, nil
		}
	}
	if err := Reachable(ctx, c, req.URL); err != nil {
		return nil, err
	}
	return d, nil
}

// Reachable opens (and closes) a TCP connection to the URL's host and port,
// and returns a classified *transport.Error when it cannot. Through a proxy
// it checks nothing: the session finds out.
func Reachable(ctx context.Context, c *http.Client, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	probe := *u
	port := u.Port()
	switch u.Scheme {
	case "wss", "https", "pushers", "ably", "ably+https":
		probe.Scheme, port = "https", cmp.Or(port, "443")
	default:
		probe.Scheme, port = "http", cmp.Or(port, "80")
	}
	if tr, ok := c.Transport.(*http.Transport); ok && tr.Proxy != nil {
		if p, err := tr.Proxy(&http.Request{URL: &probe}); err != nil || p != nil {
			return nil
		}
	}
	probe.Host = net.JoinHostPort(u.Hostname(), port)
	nc, err := transport.DialTimed(ctx, &probe, nil, 0, new(transport.Connect))
	if err != nil {
		return transport.AsError(err)
	}
	return nc.Close()
}
