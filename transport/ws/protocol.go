package ws

import (
	"cmp"
	"context"
	"strconv"
	"strings"
	"sync"

	"github.com/rtbench/rtbench/transport"
)

// Protocol is the WebSocket's row of the protocol table
// (transport/client): ws:// and wss:// URLs, never detected from an HTTP
// answer.
var Protocol = transport.Protocol{
	Name:    "ws",
	Pattern: transport.WS,
	Schemes: []string{"ws", "wss"},
	Sends:   true,
	Knobs: func(o transport.SessionOptions) map[string]string {
		compression := "off"
		if o.Compress {
			compression = "permessage-deflate, no context takeover"
		}
		return map[string]string{
			"read_limit_bytes": strconv.FormatInt(cmp.Or(o.ReadLimit, DefaultReadLimit), 10),
			"ping_interval":    transport.DurationOrOff(o.PingInterval),
			"ping_timeout":     cmp.Or(o.PingTimeout, DefaultPingTimeout).String(),
			"compression":      compression,
			"subprotocols":     strings.Join(o.Subprotocols, ","),
			"idle_timeout":     transport.DurationOrOff(o.IdleTimeout),
		}
	},
	New: func(o transport.SessionOptions) transport.Session {
		c := &Client{
			URL: o.Request.URL, Header: o.Request.Header, Subprotocols: o.Subprotocols, HTTP: o.HTTP,
			ReadLimit: o.ReadLimit, Compress: o.Compress, PingInterval: o.PingInterval, PingTimeout: o.PingTimeout,
			AllowInvalidUTF8: o.AllowInvalidUTF8, Reconnect: o.Reconnect, SendEvery: o.SendEvery, SendSize: o.SendSize,
			Stamp: o.Stamp, Send: o.Request.Send,
		}
		if o.Lean {
			c.Lean = &Lean{LocalAddr: o.LocalAddr, TTFBTimeout: o.TTFBTimeout}
		}
		var s transport.Session = c
		if o.Outbox != nil {
			s = &outboxSession{c: c, in: o.Outbox}
		}
		if o.IdleTimeout > 0 {
			s = &IdleSession{Inner: s, Timeout: o.IdleTimeout, Reconnect: o.Reconnect}
		}
		return s
	},
}

// outboxSession feeds a Client's Outbox from a channel of text messages
// for as long as the session runs.
type outboxSession struct {
	c  *Client
	in <-chan []byte
}

func (s *outboxSession) Run(ctx context.Context, obs transport.Observer) error {
	ctx, cancel := context.WithCancel(ctx)
	out := make(chan Outgoing)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(out)
		for {
			select {
			case b, ok := <-s.in:
				if !ok {
					return
				}
				select {
				case out <- Outgoing{Data: b}:
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	})
	c := *s.c
	c.Outbox = out
	err := c.Run(ctx, obs)
	cancel()
	wg.Wait()
	return err
}
