package poll

import (
	"cmp"
	"net/http"

	"github.com/rtbench/rtbench/transport"
)

// Protocol is polling's row of the protocol table (transport/client): any
// other HTTP answer, JSON above all. It is last in the table and claims
// whatever the rows before it did not.
var Protocol = transport.Protocol{
	Name:     "poll",
	Pattern:  transport.Poll,
	Requests: true,
	Claims:   func(*transport.Request, *http.Response) bool { return true },
	Knobs: func(o transport.SessionOptions) map[string]string {
		interval := cmp.Or(o.Interval, DefaultInterval).String()
		if o.ClosedLoop {
			interval = "0 (closed loop)"
		}
		return map[string]string{"interval": interval, "long_poll": transport.DurationOrOff(o.LongPoll)}
	},
	New: func(o transport.SessionOptions) transport.Session {
		c := &Client{Request: o.Request, HTTP: o.HTTP, Interval: o.Interval, LongPoll: o.LongPoll,
			NoConditional: o.NoConditional, First: o.First, Reconnect: o.Reconnect, ClosedLoop: o.ClosedLoop, Stamp: o.Stamp}
		switch {
		case o.Once:
			// A request with a body answered with something other than a
			// stream (a POST that creates a job, say): show the answer once
			// rather than repeat the request.
			c.Reconnect.Policy = transport.PolicyNever
			c.MaxRequests = 1
		case o.One:
			c.MaxRequests = 1
			if o.Lean && o.Pool != nil { // the open model: lean, on the run's shared idle connections
				c.HTTP, c.HTTPOptions = nil, *cmp.Or(o.OwnHTTP, &transport.HTTPOptions{})
				c.Lean = &Lean{TTFBTimeout: o.TTFBTimeout, LocalAddr: o.LocalAddr, Pool: o.Pool}
			}
			// Run once per request, concurrently: the request is built once.
			c.Prepare()
		case o.OwnHTTP != nil: // a held session keeps a connection of its own
			c.HTTP, c.HTTPOptions = nil, *o.OwnHTTP
			if o.LocalAddr != nil {
				c.HTTPOptions.LocalAddr = o.LocalAddr
			}
			if o.Lean { // plain http:// without a proxy: the lean HTTP/1.1 path
				c.Lean = &Lean{TTFBTimeout: o.TTFBTimeout}
			}
		}
		return c
	},
}
