package cmd

import (
	"strings"

	"github.com/spf13/pflag"

	"github.com/rtbench/rtbench/transport/ably"
)

// addAblyFlags adds the flags of serve's Ably protocol.
func addAblyFlags(f *pflag.FlagSet, o *ServeOptions) {
	f.Var((*ablyKeysFlag)(&o.Mock.AblyKeys), "ably-key",
		"Ably API key (appId.keyId:secret) the Ably protocol accepts (repeatable); default "+ably.DefaultKey+", for local use only")
}

// ablyKeysFlag is --ably-key: each value parsed once here.
type ablyKeysFlag []ably.Key

func (f *ablyKeysFlag) String() string {
	names := make([]string, len(*f))
	for i, k := range *f {
		names[i] = k.String()
	}
	return strings.Join(names, ",")
}

func (f *ablyKeysFlag) Type() string { return "key" }

func (f *ablyKeysFlag) Set(v string) error {
	k, err := ably.ParseKey(v)
	if err != nil {
		return err
	}
	for _, have := range *f {
		if have.Name == k.Name {
			return UsageError("--ably-key %s is given twice", k.Name)
		}
	}
	*f = append(*f, k)
	return nil
}

// ablyWarning is the warning for a server reachable from other hosts that
// accepts the documented default key; "" otherwise.
func ablyWarning(o *ServeOptions) string {
	if len(o.Mock.AblyKeys) > 0 {
		return ""
	}
	return "warning: the Ably protocol accepts the documented default key " + strings.SplitN(ably.DefaultKey, ":", 2)[0] + ":…; give --ably-key appId.keyId:secret to choose your own\n"
}
