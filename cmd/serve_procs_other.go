//go:build !linux

package cmd

import (
	"context"
	"errors"
)

// reusePortSupported: only Linux spreads one port's connections over
// several SO_REUSEPORT listeners (macOS and the BSDs give them all to the
// last one bound; Windows has no such option), so serve --procs is Linux
// only.
const reusePortSupported = false

var errNoProcs = errors.New("serve --procs needs Linux")

func serveProcs(context.Context, *Env, *ServeOptions) error { return errNoProcs }

func serveChild(context.Context, *Env, *ServeOptions) error { return errNoProcs }
