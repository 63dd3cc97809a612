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

// pusherAppsFlag is --pusher-app, repeatable: each value one app.
type pusherAppsFlag []pusher.App

func (f *pusherAppsFlag) String() string { return "" }
func (f *pusherAppsFlag) Type() string   { return "id:key:secret" }
func (f *pusherAppsFlag) Set(v string) error {
	a, err := pusher.ParseApp(v)
	if err != nil {
		return err
	}
	for _, have := range *f {
		if have.ID == a.ID || have.Key == a.Key {
			return UsageError("--pusher-app: app ID %q or key %q given twice", a.ID, a.Key)
		}
	}
	*f = append(*f, a)
	return nil
}
