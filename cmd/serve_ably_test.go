package cmd

import (
	"context"
	"strings"
	"testing"
)

// TestServeAblyKeyFlag: --ably-key is parsed once, repeatable; a malformed
// key or one given twice is a usage error that never shows the secret.
func TestServeAblyKeyFlag(t *testing.T) {
	parse := func(args ...string) (*ServeOptions, error) {
		env, _, _ := TestEnv()
		var got *ServeOptions
		c := NewCmdServe(env, func(_ context.Context, o *ServeOptions) error { got = o; return nil })
		c.SetArgs(args)
		c.SilenceErrors, c.SilenceUsage = true, true
		return got, c.Execute()
	}
	o, err := parse("--ably-key", "app.one:s3cret", "--ably-key", "app.two:other")
	if err != nil || len(o.Mock.AblyKeys) != 2 || o.Mock.AblyKeys[0].Name != "app.one" || o.Mock.AblyKeys[1].Secret != "other" {
		t.Fatalf("%v %+v", err, o)
	}
	if o, err := parse(); err != nil || len(o.Mock.AblyKeys) != 0 || ablyWarning(o.Mock) == "" {
		t.Errorf("no --ably-key: %v, keys %v; want the default and a warning beyond loopback", err, o.Mock.AblyKeys)
	}
	for _, bad := range [][]string{
		{"--ably-key", "nocolon-s3cret"},
		{"--ably-key", "nodot:s3cret"},
		{"--ably-key", "app.one:"},
		{"--ably-key", "app.one:s3cret", "--ably-key", "app.one:s3cret"},
	} {
		if _, err := parse(bad...); err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%v: %v, want an error without the secret", bad, err)
		}
	}
}
