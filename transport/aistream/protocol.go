package aistream

import (
	"net/http"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/sse"
)

// Protocol is the AI token stream's row of the protocol table
// (transport/client): a request with a body answered with an event stream
// of OpenAI or Anthropic chunks.
var Protocol = transport.Protocol{
	Name:        "ai",
	Pattern:     transport.AIStream,
	Requests:    true,
	ContentType: sse.MediaType,
	Claims: func(req *transport.Request, resp *http.Response) bool {
		return req.Body != nil && transport.IsEventStream(resp.Header.Get("Content-Type"))
	},
	Knobs: transport.MaxEventKnob,
	New: func(o transport.SessionOptions) transport.Session {
		newClient := func(first *transport.Opened) transport.Session {
			return &Client{Request: o.Request, HTTP: o.HTTP, Parser: sse.ParserFor(o.MaxEvent), IdleTimeout: o.IdleTimeout, First: first}
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
