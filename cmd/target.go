package cmd

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
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
	Stamp     string // --stamp (listen, load)

	Body     []byte // Data resolved
	dataFlag string // how the body flag is spelled in messages
	header   http.Header
	policy   transport.Policy
	roots    *x509.CertPool
	stamp    *transport.StampSpec
}

// addStampFlag adds --stamp, for the commands that measure delivery.
func (t *TargetOptions) addStampFlag(f *pflag.FlagSet) {
	f.StringVar(&t.Stamp, "stamp", "", "the payload field delivery latency is measured from, PATH[:s|ms|us|ns|rfc3339] (data.meta.ts:ms), or none; default sched_ns, else ts, time, timestamp, sent_at or created_at")
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
	if err := checkHostPort(t.URL); err != nil {
		return UsageError("%v", err)
	}
	if t.Method != "" && !isToken(t.Method) {
		return UsageError("-X %q: want an HTTP method such as GET or POST", t.Method)
	}
	switch t.Mode {
	case "", "sse", "ws", "poll", "ai":
	default:
		return UsageError("--mode %q: want sse, ws, poll or ai", t.Mode)
	}
	var err error
	if t.stamp, err = transport.ParseStampSpec(t.Stamp); err != nil {
		return UsageError("%v", err)
	}
	var ok bool
	if t.policy, ok = transport.ParsePolicy(t.Reconnect); !ok {
		return UsageError("--reconnect %q: want spec, always or never", t.Reconnect)
	}
	t.header = http.Header{}
	for _, h := range t.Headers {
		name, value, ok := strings.Cut(h, ":")
		name = strings.TrimSpace(name)
		if !ok || !isToken(name) {
			return UsageError("-H %q: want 'Name: value'", h)
		}
		if strings.ContainsFunc(value, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
			return UsageError("-H %q: the value holds a control character (a newline?); give one line per header", h)
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
		if t.Mode == "ai" && !json.Valid(t.Body) {
			return UsageError("%s: the body is not valid JSON; an AI stream takes a JSON request such as '{\"model\":\"m\",\"stream\":true,\"messages\":[...]}'", t.dataFlag)
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

// checkHostPort checks what url.Parse lets through: a URL needs a host, and
// a port, when it has one, from 1 to 65535.
func checkHostPort(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("URL %q: %v", raw, err)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("URL %q has no host: write it as %s://HOST[:PORT]/PATH", raw, u.Scheme)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("URL %q: port %s is out of range; want 1 to 65535", raw, p)
		}
	}
	return nil
}

// isToken reports whether s is an HTTP token (RFC 9110 §5.6.2), as a method
// or a header name must be.
func isToken(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return r >= 0x7f || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r)
	})
}

// request is what every session sends.
func (t *TargetOptions) request() transport.Request {
	return transport.Request{URL: t.URL, Method: t.Method, Header: t.header, Body: t.Body}
}
