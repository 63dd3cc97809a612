package cmd

import (
	"crypto/x509"
	"errors"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/detect"
)

// TargetOptions are the flags of every command that connects to a URL
// (listen, load): what to send and how to trust and reconnect.
type TargetOptions struct {
	URL       string
	Mode      string // "", sse, ws, poll, ai
	Method    string
	Headers   []string
	Data      string // body, or @file
	Insecure  bool
	CACert    string
	Reconnect string

	Body     []byte // Data resolved
	dataFlag string // how the body flag is spelled in messages
	header   http.Header
	policy   transport.Policy
	roots    *x509.CertPool
}

// addFlags adds the target flags; dataShort is -d's letter for listen and
// empty for load, where -d is the duration.
func (t *TargetOptions) addFlags(f *pflag.FlagSet, dataShort, reconnectHelp string) {
	f.StringVar(&t.Mode, "mode", "", "force the pattern: sse, ws, poll or ai (default: detect)")
	f.StringVarP(&t.Method, "request", "X", "", "HTTP method (default GET, or POST with a body)")
	f.StringArrayVarP(&t.Headers, "header", "H", nil, "request header 'Name: value' (repeatable)")
	f.StringVarP(&t.Data, "data", dataShort, "", "request body, or @file to read it from a file")
	t.dataFlag = "--data"
	if dataShort != "" {
		t.dataFlag = "-" + dataShort
	}
	f.BoolVar(&t.Insecure, "insecure", false, "skip TLS certificate verification (never implied)")
	f.StringVar(&t.CACert, "cacert", "", "PEM file of extra CA certificates to trust")
	f.StringVar(&t.Reconnect, "reconnect", "spec", reconnectHelp)
}

func (t *TargetOptions) validate() error {
	if _, err := detect.Scheme(t.URL); err != nil {
		return UsageError("%v", err)
	}
	switch t.Mode {
	case "", "sse", "ws", "poll", "ai":
	default:
		return UsageError("--mode %q: want sse, ws, poll or ai", t.Mode)
	}
	var ok bool
	if t.policy, ok = transport.ParsePolicy(t.Reconnect); !ok {
		return UsageError("--reconnect %q: want spec, always or never", t.Reconnect)
	}
	t.header = http.Header{}
	for _, h := range t.Headers {
		name, value, ok := strings.Cut(h, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return UsageError("-H %q: want 'Name: value'", h)
		}
		t.header.Add(name, strings.TrimSpace(value))
	}
	if t.Data != "" {
		if file, ok := strings.CutPrefix(t.Data, "@"); ok {
			b, err := os.ReadFile(file)
			if err != nil {
				return UsageError("%s @%s: %v", t.dataFlag, file, errors.Unwrap(err))
			}
			t.Body = b
		} else {
			t.Body = []byte(t.Data)
		}
	}
	if t.CACert != "" {
		pem, err := os.ReadFile(t.CACert)
		if err != nil {
			return UsageError("--cacert %s: %v", t.CACert, errors.Unwrap(err))
		}
		t.roots, _ = x509.SystemCertPool()
		if t.roots == nil {
			t.roots = x509.NewCertPool()
		}
		if !t.roots.AppendCertsFromPEM(pem) {
			return UsageError("--cacert %s: no PEM certificate found in it", t.CACert)
		}
	}
	return nil
}

// request is what every session sends.
func (t *TargetOptions) request() transport.Request {
	return transport.Request{URL: t.URL, Method: t.Method, Header: t.header, Body: t.Body}
}
