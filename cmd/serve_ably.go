package cmd

import (
	"strings"

	"github.com/spf13/pflag"

	"github.com/rtbench/rtbench/transport/ably"
	"github.com/rtbench/rtbench/transport/mock"
)

// addAblyFlags adds the flags of serve's Ably protocol. The keys are kept
// as given and parsed in validateAbly, not in a flag.Value's Set: pflag
// quotes a refused value in its error, and a key's value is a secret.
func addAblyFlags(f *pflag.FlagSet, o *ServeOptions) {
	f.StringArrayVar(&o.AblyKeys, "ably-key", nil,
		"Ably API key (appId.keyId:secret) the Ably protocol accepts (repeatable); default "+ably.DefaultKey+", for local use only")
}

// validateAbly parses --ably-key into the mock's keys.
func (o *ServeOptions) validateAbly() error {
	o.Mock.AblyKeys = nil
	for _, v := range o.AblyKeys {
		k, err := ably.ParseKey(v)
		if err != nil {
			return UsageError("--ably-key: %v", err)
		}
		for _, have := range o.Mock.AblyKeys {
			if have.Name == k.Name {
				return UsageError("--ably-key %s is given twice", k.Name)
			}
		}
		o.Mock.AblyKeys = append(o.Mock.AblyKeys, k)
	}
	return nil
}

// ablyWarning is the warning for a server reachable from other hosts that
// accepts the documented default key; "" otherwise.
func ablyWarning(cfg mock.Config) string {
	if len(cfg.AblyKeys) > 0 {
		return ""
	}
	return "warning: the Ably protocol accepts the documented default key " + strings.SplitN(ably.DefaultKey, ":", 2)[0] + ":…; give --ably-key appId.keyId:secret to choose your own\n"
}
