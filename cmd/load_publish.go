package cmd

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"sync"

	"github.com/spf13/pflag"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/transport"
)

// MaxUnconfirmedDeliveries is how many deliveries a run that publishes to a
// host beyond this machine may plan without --yes: managed pub/sub
// services bill per message delivered.
const MaxUnconfirmedDeliveries = 10_000

// addPublishFlags adds load's publisher flags.
func (o *LoadOptions) addPublishFlags(f *pflag.FlagSet) {
	f.Var(&o.PublishRate, "publish-rate", "Ably: publish this many stamped messages a second (10/s) to the channel through its REST API while the sessions subscribe; delivery latency counts from each message's due time")
	f.BoolVar(&o.Yes, "yes", false, "confirm a run that publishes to a host beyond this machine with more than 10,000 deliveries (they are billed)")
}

// plannedDeliveries is what a publishing run plans: messages published,
// and deliveries if every held session receives each.
func (o *LoadOptions) plannedDeliveries() (published, delivered float64) {
	held := o.Connections
	for _, st := range o.Stages.stages {
		held = max(held, int(st.Target))
	}
	published = math.Ceil(o.PublishRate.perSecond * o.runLength().Seconds())
	return published, published * float64(held)
}

func (o *LoadOptions) publishHost() string {
	if u, err := url.Parse(o.URL); err == nil {
		return u.Hostname()
	}
	return ""
}

// validatePublish refuses, before anything connects, a run that publishes
// to a host beyond this machine with more than MaxUnconfirmedDeliveries
// planned and no --yes.
func (o *LoadOptions) validatePublish() error {
	if o.PublishRate.perSecond <= 0 {
		return nil
	}
	if o.PublishRate.perSecond > 10_000 {
		return UsageError("--publish-rate %s: at most 10000/s", o.PublishRate.String())
	}
	host := o.publishHost()
	if _, delivered := o.plannedDeliveries(); !isLoopback(host) && delivered > MaxUnconfirmedDeliveries && !o.Yes {
		published, _ := o.plannedDeliveries()
		return UsageError("--publish-rate: this run publishes about %.0f messages to %s and plans %.0f deliveries, over %d (the service bills them); add --yes to confirm, or lower -c, -d or --publish-rate",
			published, host, delivered, MaxUnconfirmedDeliveries)
	}
	return nil
}

// startPublisher starts --publish-rate's publisher for proto, after saying
// what it will publish; stop ends it and returns its counts. A run beyond
// loopback above MaxUnconfirmedDeliveries needs --yes.
func (o *LoadOptions) startPublisher(ctx context.Context, env *Env, proto *transport.Protocol, so transport.SessionOptions) (stop func() bench.PublishStats, err error) {
	if o.PublishRate.perSecond <= 0 {
		return nil, nil
	}
	if proto.Publish == nil {
		return nil, UsageError("--publish-rate: %s sessions cannot publish; it applies to ably:// URLs", proto.Name)
	}
	if host := o.publishHost(); !isLoopback(host) {
		published, delivered := o.plannedDeliveries()
		fmt.Fprintf(env.ErrOut, "rtbench: this run publishes about %.0f messages to %s and, if every session receives each, %.0f deliveries\n", published, host, delivered)
	}
	pctx, cancel := context.WithCancel(ctx)
	var st bench.PublishStats
	var wg sync.WaitGroup
	p := bench.Publishing{Rate: o.PublishRate.perSecond, Publish: func(ctx context.Context, data []byte) error {
		return proto.Publish(ctx, so, data)
	}}
	wg.Go(func() { st = p.Run(pctx) })
	return func() bench.PublishStats {
		cancel()
		wg.Wait()
		return st
	}, nil
}
