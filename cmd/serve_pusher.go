package cmd

import (
	"github.com/spf13/pflag"

	"github.com/rtbench/rtbench/transport/pusher"
)

// addPusherFlags adds serve's Pusher Channels flags.
func addPusherFlags(f *pflag.FlagSet, o *ServeOptions) {
	f.Var((*pusherAppsFlag)(&o.Mock.PusherApps), "pusher-app", "Pusher app accepted on /app/KEY and /apps/ID/ as ID:KEY:SECRET (repeatable; default "+
		pusher.DefaultApp.ID+":"+pusher.DefaultApp.Key+":"+pusher.DefaultApp.Secret+", for local use)")
}

// pusherAppsFlag is --pusher-app, repeatable: each value one app. Set only
// keeps the value: pflag would quote a refused value, secret and all, in
// its error, so validatePusher checks them and names no secret.
type pusherAppsFlag []pusher.App

func (f *pusherAppsFlag) String() string { return "" }
func (f *pusherAppsFlag) Type() string   { return "id:key:secret" }
func (f *pusherAppsFlag) Set(v string) error {
	*f = append(*f, pusher.App{Secret: v}) // parsed by validatePusher
	return nil
}

// validatePusher parses the --pusher-app values.
func (o *ServeOptions) validatePusher() error {
	apps := o.Mock.PusherApps
	for i, raw := range apps {
		a, err := pusher.ParseApp(raw.Secret)
		if err != nil {
			return UsageError("--pusher-app (value %d): %v", i+1, err)
		}
		for _, have := range apps[:i] {
			if have.ID == a.ID || have.Key == a.Key {
				return UsageError("--pusher-app: app ID %q or key %q given twice", a.ID, a.Key)
			}
		}
		apps[i] = a
	}
	return nil
}
