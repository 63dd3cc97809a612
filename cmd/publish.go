package cmd

import (
	"fmt"
	"net"
	"net/url"

	"github.com/spf13/pflag"

	"github.com/rtbench/rtbench/transport"
)

// maxUnconfirmedDeliveries is how many deliveries a run may cause on a
// managed service that is not on this machine before it needs --yes: the
// services bill per message.
const maxUnconfirmedDeliveries = 10000

// addPublishFlag adds --publish-rate (load, check): the one publisher that
// drives a managed pub/sub target through its HTTP API.
func (t *SessionFlags) addPublishFlag(f *pflag.FlagSet) {
	f.Var(&t.PublishRate, "publish-rate", "pusher://: publish this many stamped messages per second (10/s) through the service's HTTP API while the sessions listen (needs the app ID and secret in the URL)")
}

// publisher builds the publisher of --publish-rate for proto, or nil when
// none is asked for.
func (t *SessionFlags) publisher(proto *transport.Protocol, so transport.SessionOptions) (transport.Publisher, error) {
	if t.PublishRate.perSecond == 0 {
		return nil, nil
	}
	if proto.Publish == nil {
		return nil, UsageError("--publish-rate publishes through a managed service's HTTP API: it needs a pusher:// URL, not %s", proto.Name)
	}
	pub, err := proto.Publish(so)
	if err != nil {
		return nil, UsageError("--publish-rate: %v", transport.RedactText(err.Error()))
	}
	return pub, nil
}

// billedRun is what a run will publish and deliver on a managed service
// that is not on this machine, and whether it needs --yes; remote is false
// on a loopback host (rtbench serve), where nothing is billed.
func billedRun(rawURL string, rate float64, seconds float64, sessions int) (published, delivered int64, remote bool) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return 0, 0, false
	}
	host := u.Hostname()
	if isLoopback(host) {
		return 0, 0, false
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return 0, 0, false
	}
	published = int64(rate*seconds + 0.5)
	return published, published * int64(sessions), true
}

// confirmBilling refuses a publishing run on a managed service that would
// deliver more than maxUnconfirmedDeliveries messages without --yes, and
// says on stderr what it will cost in messages either way.
func confirmBilling(env *Env, rawURL string, rate, seconds float64, sessions int, yes bool) error {
	if rate == 0 {
		return nil
	}
	published, delivered, remote := billedRun(rawURL, rate, seconds, sessions)
	if !remote {
		return nil
	}
	fmt.Fprintf(env.ErrOut, "rtbench: this run publishes about %d messages to %s, delivered to %d subscribers: about %d deliveries, which the service bills\n",
		published, transport.RedactURL(rawURL), sessions, delivered)
	if delivered > maxUnconfirmedDeliveries && !yes {
		return UsageError("the run would cause about %d message deliveries (over %d) on a billed service; add --yes to confirm, or lower -c, -d or --publish-rate", delivered, maxUnconfirmedDeliveries)
	}
	return nil
}
