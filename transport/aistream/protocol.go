package aistream

import (
	"cmp"
	"net/http"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/sse"
)

// Protocol is the AI token stream's row of the protocol table
// (transport/client): a request with a body answered with an event stream
// or NDJSON, or any answer carrying one of the AI SDK's stream headers. Its
// formats are transport.AIFormats.
var Protocol = transport.Protocol{
	Name:        "ai",
	Pattern:     transport.AIStream,
	Requests:    true,
	ContentType: sse.MediaType,
	Claims: func(req *transport.Request, resp *http.Response) bool {
		return claims(req.Body != nil, resp.Header)
	},
	Knobs: func(o transport.SessionOptions) map[string]string {
		k := transport.MaxEventKnob(o)
		k["ai_format"] = cmp.Or(o.AIFormat, "detect")
		return k
	},
	New: func(o transport.SessionOptions) transport.Session {
		newClient := func(first *transport.Opened) transport.Session {
			return &Client{Request: o.Request, HTTP: o.HTTP, Parser: sse.ParserFor(o.MaxEvent), IdleTimeout: o.IdleTimeout, First: first, Format: o.AIFormat}
		}
		if o.Repeat && !o.One {
			first := o.First
			return transport.Repeat{New: func() transport.Session {
				f := first
				first = nil
				return newClient(f)
			}}
		}
		return newClient(o.First)
	},
}
