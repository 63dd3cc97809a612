package ably

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/rtbench/rtbench/transport"
)

// URL schemes of an Ably target:
//
//	ably://KEY@HOST[:PORT]/CHANNEL[?event=NAME&format=msgpack&rest=HOST[:PORT]]
//
// ably:// and ably+https:// use TLS (wss and https, port 443 by default), as
// Ably does; ably+http:// does not (ws and http, port 80 by default), for
// rtbench serve. KEY is appId.keyId:secret; a user name without a colon is a
// token instead. The path is the channel. event keeps only messages of that
// name (default: all); format is the wire format (json, the default, or
// msgpack); rest is the REST host when it is not the realtime host
// (realtime.ably.io's is rest.ably.io, found on its own).
var Schemes = []string{"ably", "ably+https", "ably+http"}

// Target is a parsed Ably URL.
type Target struct {
	TLS      bool
	Host     string // realtime host:port
	RESTHost string // REST host:port
	Channel  string
	Event    string // "" all
	Format   Format
	Key      string // appId.keyId:secret, or ""
	Token    string // or a token
	ClientID string
}

// ParseTarget reads an Ably URL.
func ParseTarget(raw string) (*Target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("Ably URL: %s", transport.RedactText(err.Error()))
	}
	t := &Target{}
	switch u.Scheme {
	case "ably", "ably+https":
		t.TLS = true
	case "ably+http":
	default:
		return nil, fmt.Errorf("Ably URL scheme %q: want ably:// (TLS), ably+https:// or ably+http://", u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("Ably URL has no host: write %s://KEY@HOST/CHANNEL", u.Scheme)
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if t.TLS {
			port = "443"
		}
	}
	t.Host = net.JoinHostPort(u.Hostname(), port)
	t.RESTHost = t.Host
	if u.Hostname() == "realtime.ably.io" {
		t.RESTHost = net.JoinHostPort("rest.ably.io", port)
	}
	t.Channel = strings.TrimPrefix(u.Path, "/")
	if t.Channel == "" || strings.Contains(t.Channel, "/") {
		return nil, fmt.Errorf("Ably URL path %q: want one channel name, as in %s://KEY@%s/chat", u.Path, u.Scheme, u.Host)
	}
	if u.User != nil {
		if secret, ok := u.User.Password(); ok {
			t.Key = u.User.Username() + ":" + secret
			if _, err := ParseKey(t.Key); err != nil {
				return nil, err
			}
		} else {
			t.Token = u.User.Username()
		}
	}
	if t.Key == "" && t.Token == "" {
		return nil, fmt.Errorf("Ably URL has no credentials: write %s://appId.keyId:secret@%s/%s (or a token before the @)", u.Scheme, u.Host, t.Channel)
	}
	q := u.Query()
	for k := range q {
		switch k {
		case "event", "format", "rest", "clientId":
		default:
			return nil, fmt.Errorf("Ably URL parameter %q: want event, format, rest or clientId", k)
		}
	}
	t.Event = q.Get("event")
	t.ClientID = q.Get("clientId")
	switch q.Get("format") {
	case "", "json":
	case "msgpack":
		t.Format = MsgPack
	default:
		return nil, fmt.Errorf("Ably URL format=%q: want json or msgpack", q.Get("format"))
	}
	if r := q.Get("rest"); r != "" {
		if _, _, err := net.SplitHostPort(r); err != nil {
			r = net.JoinHostPort(r, port)
		}
		t.RESTHost = r
	}
	return t, nil
}

// realtimeURL is the WebSocket URL of a connection.
func (t *Target) realtimeURL() string {
	q := url.Values{}
	if t.Key != "" {
		q.Set("key", t.Key)
	} else {
		q.Set("access_token", t.Token)
	}
	q.Set("format", t.Format.String())
	q.Set("heartbeats", "true")
	q.Set("v", "6")
	q.Set("agent", "rtbench")
	if t.ClientID != "" {
		q.Set("clientId", t.ClientID)
	}
	scheme := "ws"
	if t.TLS {
		scheme = "wss"
	}
	return scheme + "://" + t.Host + "/?" + q.Encode()
}

// restURL is the URL of a REST path.
func (t *Target) restURL(path string) string {
	scheme := "http"
	if t.TLS {
		scheme = "https"
	}
	return scheme + "://" + t.RESTHost + path
}

// authHeader is the REST Authorization header.
func (t *Target) authHeader() string {
	if t.Key != "" {
		return "Basic " + b64(t.Key)
	}
	return "Bearer " + b64(t.Token)
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
