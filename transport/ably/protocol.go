package ably

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/rtbench/rtbench/transport"
)

// Protocol is Ably's row of the protocol table (transport/client): ably://,
// ably+https:// and ably+http:// URLs, never detected from an HTTP answer.
// A session is one realtime subscriber (Client); SendEvery makes it publish
// stamped messages over its connection and report them coming back
// (KindEcho); Publish is the REST publisher of --publish-rate (load, check).
var Protocol = transport.Protocol{
	Name:    "ably",
	Pattern: transport.WS,
	Schemes: Schemes,
	Sends:   true,
	Knobs: func(o transport.SessionOptions) map[string]string {
		k := map[string]string{"request_timeout": DefaultRequestTimeout.String(), "idle_timeout": "maxIdleInterval+" + DefaultRequestTimeout.String()}
		if o.IdleTimeout > 0 {
			k["idle_timeout"] = o.IdleTimeout.String()
		}
		if t, err := ParseTarget(o.Request.URL); err == nil {
			k["format"] = t.Format.String()
			k["event"] = t.Event
		}
		return k
	},
	New: func(o transport.SessionOptions) transport.Session {
		t, err := ParseTarget(o.Request.URL)
		if err != nil {
			return failed{err}
		}
		return &Client{Target: t, HTTP: o.HTTP, Reconnect: o.Reconnect, Stamp: o.Stamp, IdleTimeout: o.IdleTimeout,
			PublishEvery: o.SendEvery, Outbox: o.Outbox}
	},
	Publish: func(o transport.SessionOptions) (transport.Publisher, error) {
		t, err := ParseTarget(o.Request.URL)
		if err != nil {
			return nil, err
		}
		name := t.Event
		if name == "" {
			name = "message"
		}
		return func(ctx context.Context, seq uint64, sched time.Time) error {
			data := fmt.Appendf(nil, `{"seq":%d,"sched_ns":%d}`, seq, sched.UnixNano())
			return RESTPublish(ctx, o.HTTP, t, &Message{Name: name, Data: Data{B: data, JSON: true, Set: true}})
		}, nil
	},
}

// failed is a session that cannot start: its URL is not an Ably target.
type failed struct{ err error }

func (f failed) Run(_ context.Context, obs transport.Observer) error {
	e := &transport.Error{Class: transport.ClassOther, Err: f.err, At: time.Now(), Fatal: true}
	obs.Error(e)
	return e
}

// RESTPublish publishes m to the target's channel with the REST API (POST
// /channels/NAME/messages, Basic auth with the key or Bearer with the
// token, in the target's format). An answer other than 201 comes back as a
// *transport.Error of ClassError with Ably's code, or of the HTTP status's
// class when the body has none.
func RESTPublish(ctx context.Context, hc *http.Client, t *Target, m *Message) error {
	if hc == nil {
		hc = http.DefaultClient
	}
	body, err := Marshal(m.forWire(t.Format), t.Format)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.restURL("/channels/"+url.PathEscape(t.Channel)+"/messages"), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", t.authHeader())
	req.Header.Set("Content-Type", t.Format.ContentType())
	req.Header.Set("Accept", t.Format.ContentType())
	req.Header.Set("X-Ably-Version", "6")
	resp, err := hc.Do(req)
	if err != nil {
		return transport.AsError(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	return restError(resp, b, t.Format)
}

// restError reads Ably's error from a REST answer.
func restError(resp *http.Response, b []byte, f Format) error {
	var body struct {
		Error *ErrorInfo `json:"error" msgpack:"error"`
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" && ct != f.ContentType() {
		f = JSON
		if ct == MsgPack.ContentType() {
			f = MsgPack
		}
	}
	if unmarshal(b, f, &body) == nil && body.Error != nil && body.Error.Code != 0 {
		return &transport.Error{Class: ClassError, Code: body.Error.Code, Err: fmt.Errorf("HTTP %d: %w", resp.StatusCode, body.Error), At: time.Now()}
	}
	var code int
	if _, err := fmt.Sscan(resp.Header.Get("X-Ably-Errorcode"), &code); err == nil && code > 0 {
		return &transport.Error{Class: ClassError, Code: code, Err: fmt.Errorf("HTTP %d: %s", resp.StatusCode, resp.Header.Get("X-Ably-Errormessage")), At: time.Now()}
	}
	return &transport.Error{Class: transport.HTTPStatusClass(resp.StatusCode), Code: resp.StatusCode,
		Err: fmt.Errorf("the REST publish got HTTP %d", resp.StatusCode), At: time.Now()}
}
