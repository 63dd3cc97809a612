package pusher

import (
	"context"
	"time"

	"github.com/rtbench/rtbench/transport"
)

// Protocol is Pusher's row of the protocol table (transport/client):
// pusher:// and pushers:// URLs (Target), never detected from an HTTP
// answer. Its sessions subscribe (Client); its Publish triggers through the
// HTTP API (NewPublisher).
var Protocol = transport.Protocol{
	Name:    "pusher",
	Pattern: transport.WS,
	Schemes: Schemes,
	New: func(o transport.SessionOptions) transport.Session {
		t, err := ParseTarget(o.Request.URL)
		if err != nil {
			return failed{err}
		}
		var s transport.Session = &Client{Target: t, HTTP: o.HTTP, Reconnect: o.Reconnect, Stamp: o.Stamp,
			SubscribeTimeout: o.TTFBTimeout, PingInterval: o.PingInterval}
		return s
	},
	Publish: func(o transport.SessionOptions) (transport.Publisher, error) {
		t, err := ParseTarget(o.Request.URL)
		if err != nil {
			return nil, err
		}
		return NewPublisher(t, o.HTTP)
	},
	Knobs: func(o transport.SessionOptions) map[string]string {
		to := o.TTFBTimeout
		if to <= 0 {
			to = DefaultSubscribeTimeout
		}
		return map[string]string{
			"pusher_protocol":   "7",
			"subscribe_timeout": to.String(),
			"ping_interval":     transport.DurationOrOff(o.PingInterval),
		}
	},
}

// failed is a session that reports a bad target and ends.
type failed struct{ err error }

func (f failed) Run(_ context.Context, obs transport.Observer) error {
	e := &transport.Error{Class: transport.ClassOther, Err: f.err, At: time.Now(), Fatal: true}
	obs.Error(e)
	return e
}
