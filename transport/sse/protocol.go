package sse

import (
	"net/http"

	"github.com/rtbench/rtbench/transport"
)

// Protocol is SSE's row of the protocol table (transport/client): a GET
// answered with an event stream.
var Protocol = transport.Protocol{
	Name:        "sse",
	Pattern:     transport.SSE,
	ContentType: MediaType,
	Claims: func(req *transport.Request, resp *http.Response) bool {
		return req.Body == nil && transport.IsEventStream(resp.Header.Get("Content-Type"))
	},
	Knobs: transport.MaxEventKnob,
	New: func(o transport.SessionOptions) transport.Session {
		c := &Client{Request: o.Request, HTTP: o.HTTP, Parser: ParserFor(o.MaxEvent), Reconnect: o.Reconnect,
			IdleTimeout: o.IdleTimeout, LastEventID: o.LastEventID, First: o.First, Comments: o.Comments, Stamp: o.Stamp}
		c.Parser.NoEventIDs = o.NoEventIDs
		if o.Lean {
			c.Lean = &Lean{LocalAddr: o.LocalAddr, TTFBTimeout: o.TTFBTimeout}
		}
		return c
	},
}

// ParserFor is the parser options of an event stream whose lines and
// events are capped at maxEvent bytes (0: the default), named --max-event
// in the error that says so.
func ParserFor(maxEvent int) ParserOptions {
	if maxEvent <= 0 {
		return ParserOptions{}
	}
	return ParserOptions{MaxLine: maxEvent, MaxEvent: maxEvent, Raise: "--max-event"}
}
