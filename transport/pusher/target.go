package pusher

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/rtbench/rtbench/transport/pubsub"
)

// Target is where a Pusher client session connects and what it listens
// to, read from a URL (ParseTarget):
//
//	pusher://KEY[:SECRET]@HOST[:PORT]/CHANNEL[?app=ID&event=NAME&user=ID&rest=HOST[:PORT]]
//	pushers://…   the same over TLS (wss:// and https://)
//
// HOST is rtbench serve (127.0.0.1:8080) or Pusher's ws-CLUSTER.pusher.com,
// whose HTTP API is api-CLUSTER.pusher.com (rest= names another). The secret
// signs private and presence subscriptions and the HTTP API; app= is needed
// to publish; event= keeps only that event (default: every channel event);
// user= is the presence user ID (default: the socket ID).
type Target struct {
	TLS     bool
	Host    string // host:port of the WebSocket endpoint
	REST    string // base URL of the HTTP API: http(s)://host[:port]
	App     App    // Key always; ID and Secret when given
	Channel string
	Event   string
	User    string
}

// Schemes are the URL schemes of a Pusher target.
var Schemes = []string{"pusher", "pushers"}

// ParseTarget reads a pusher:// or pushers:// URL. Its errors never show
// the secret.
func ParseTarget(raw string) (Target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Target{}, fmt.Errorf("Pusher URL: %v", redactErr(err))
	}
	var t Target
	switch u.Scheme {
	case "pusher":
	case "pushers":
		t.TLS = true
	default:
		return Target{}, fmt.Errorf("Pusher URL: scheme %q; want pusher:// (plain) or pushers:// (TLS)", u.Scheme)
	}
	if u.User == nil || u.User.Username() == "" {
		return Target{}, fmt.Errorf("Pusher URL has no app key: write pusher://KEY[:SECRET]@HOST/CHANNEL")
	}
	t.App.Key = u.User.Username()
	t.App.Secret, _ = u.User.Password()
	if u.Hostname() == "" {
		return Target{}, fmt.Errorf("Pusher URL has no host: write pusher://KEY@HOST[:PORT]/CHANNEL (ws-CLUSTER.pusher.com for Pusher)")
	}
	port := u.Port()
	if n, err := strconv.Atoi(port); port != "" && (err != nil || n < 1 || n > 65535) {
		return Target{}, fmt.Errorf("Pusher URL: invalid port %q; want 1 to 65535", port)
	}
	if port == "" {
		port = "80"
		if t.TLS {
			port = "443"
		}
	}
	t.Host = net.JoinHostPort(u.Hostname(), port)
	t.Channel = strings.TrimPrefix(u.Path, "/")
	if t.Channel == "" {
		return Target{}, fmt.Errorf("Pusher URL names no channel: write pusher://KEY@HOST/CHANNEL")
	}
	if !pubsub.ValidChannel(t.Channel) {
		return Target{}, fmt.Errorf("Pusher URL: channel %q: want 1-128 characters of A-Z a-z 0-9 _ - . :", t.Channel)
	}
	q := u.Query()
	for k := range q {
		switch k {
		case "app", "event", "user", "rest":
		default:
			return Target{}, fmt.Errorf("Pusher URL: unknown parameter %q; want app, event, user or rest", k)
		}
	}
	t.App.ID, t.Event, t.User = q.Get("app"), q.Get("event"), q.Get("user")
	if KindOf(t.Channel) != Public && t.App.Secret == "" {
		return Target{}, fmt.Errorf("Pusher URL: %s is a %s channel: its subscription is signed with the app secret; write pusher://KEY:SECRET@HOST/%s",
			t.Channel, [...]string{"public", "private", "presence"}[KindOf(t.Channel)], t.Channel)
	}
	rest := q.Get("rest")
	if rest == "" {
		rest = t.Host
		if h := u.Hostname(); strings.HasPrefix(h, "ws-") && strings.HasSuffix(h, ".pusher.com") {
			rest = net.JoinHostPort("api-"+strings.TrimPrefix(h, "ws-"), port)
		}
	}
	scheme := "http://"
	if t.TLS {
		scheme = "https://"
	}
	t.REST = scheme + rest
	return t, nil
}

// redactErr drops the URL a url.Parse error quotes (it may hold the
// secret), keeping what was wrong.
func redactErr(err error) error {
	var ue *url.Error
	if e, ok := err.(*url.Error); ok {
		ue = e
		return ue.Err
	}
	return err
}

// SocketURL is the WebSocket URL of the target: /app/KEY?protocol=7.
func (t Target) SocketURL() string {
	scheme := "ws://"
	if t.TLS {
		scheme = "wss://"
	}
	return scheme + t.Host + "/app/" + url.PathEscape(t.App.Key) + "?protocol=7&client=rtbench&version=1"
}
