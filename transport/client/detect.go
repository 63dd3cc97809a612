package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/rtbench/rtbench/transport"
)

// Detected is what detection found.
type Detected struct {
	Protocol *transport.Protocol
	// Opened is the first response, for the session to use (pass it as
	// SessionOptions.First, or close its body); nil when no request was
	// sent (a URL scheme decided).
	Opened *transport.Opened
	// Once is set when a request that is not safe to repeat (a body, or a
	// method other than GET and HEAD) was answered with something other
	// than a stream: the answer is shown once (SessionOptions.Once).
	Once bool
}

// Accept is sent with the detection request: streams first, then JSON.
const Accept = "text/event-stream, application/json;q=0.9, */*;q=0.5"

// Scheme checks a URL and returns the protocol its scheme picks (ws://,
// wss://), or nil for http(s), where the first answer decides.
func Scheme(raw string) (*transport.Protocol, error) {
	if !strings.Contains(raw, "://") {
		return nil, fmt.Errorf("URL %q has no scheme: write http://%s (or https://, ws://, wss://)", raw, raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("URL %q: %v", raw, err)
	}
	for _, p := range table {
		if slices.Contains(p.Schemes, u.Scheme) {
			return p, nil
		}
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("URL %q: scheme %q is not supported; use http, https, ws or wss", raw, u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("URL %q has no host", raw)
	}
	return nil, nil
}

// Detect picks the protocol of req: its URL's scheme, or else the answer to
// req (sent with Accept set to the Accept constant unless the caller set
// one), which the table's rows claim in order. A failure to connect comes
// back as a classified *transport.Error; an answer with a status other than
// 2xx is claimed like any other (polling, for a JSON or HTML error page),
// with its response for the session to report.
func Detect(ctx context.Context, c *http.Client, req transport.Request) (*Detected, error) {
	if p, err := Scheme(req.URL); err != nil {
		return nil, err
	} else if p != nil {
		return &Detected{Protocol: p}, nil
	}
	hreq, err := req.HTTPRequest(ctx)
	if err != nil {
		return nil, err
	}
	if hreq.Header.Get("Accept") == "" {
		hreq.Header.Set("Accept", Accept)
	}
	op := &transport.Opened{}
	resp, err := transport.Do(c, hreq, &op.Connect)
	if err != nil {
		return nil, transport.AsError(err)
	}
	op.Resp = resp
	res := &Detected{Opened: op}
	for _, p := range table {
		if p.Claims != nil && p.Claims(&req, resp) {
			res.Protocol = p
			break
		}
	}
	if res.Protocol == nil {
		resp.Body.Close()
		return nil, fmt.Errorf("%s: no protocol claims its answer (%s)", req.URL, resp.Header.Get("Content-Type"))
	}
	if !transport.IsEventStream(resp.Header.Get("Content-Type")) && (req.Body != nil || (hreq.Method != http.MethodGet && hreq.Method != http.MethodHead)) {
		res.Once = true
	}
	return res, nil
}
