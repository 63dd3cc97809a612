// Package detect picks the client for a URL: ws:// and wss:// are
// WebSockets; for http(s) it sends the first request and reads the answer:
// an event stream is SSE (or an AI token stream when the request had a
// body), JSON or anything else is polling. The response is kept and handed
// to the chosen client for its first attempt, so nothing is sent twice.
package detect

import (
	"context"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/rtbench/rtbench/transport"
)

// Result is what detection found.
type Result struct {
	Pattern transport.Pattern
	// Opened is the first response, for the client to use; nil for a
	// WebSocket or a forced mode.
	Opened *transport.Opened
	// Once is set when a request with a body was answered with something
	// other than an event stream: polling it would repeat the request (a
	// POST that creates a job, say), so the answer is shown once.
	Once bool
}

// Accept is sent with the detection request: streams first, then JSON.
const Accept = "text/event-stream, application/json;q=0.9, */*;q=0.5"

// Scheme checks a URL and says whether it is a WebSocket URL.
func Scheme(raw string) (ws bool, err error) {
	if !strings.Contains(raw, "://") {
		return false, fmt.Errorf("URL %q has no scheme: write http://%s (or https://, ws://, wss://)", raw, raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return false, fmt.Errorf("URL %q: %v", raw, err)
	}
	switch u.Scheme {
	case "ws", "wss":
		return true, nil
	case "http", "https":
	default:
		return false, fmt.Errorf("URL %q: scheme %q is not supported; use http, https, ws or wss", raw, u.Scheme)
	}
	if u.Host == "" {
		return false, fmt.Errorf("URL %q has no host", raw)
	}
	return false, nil
}

// Detect sends req (with Accept set to the Accept constant unless the
// caller set one) and classifies the answer. A failure to connect comes back
// as a classified *transport.Error; an answer with a status other than 2xx
// is returned as polling with its response, for the client to report.
func Detect(ctx context.Context, c *http.Client, req transport.Request) (*Result, error) {
	if ws, err := Scheme(req.URL); err != nil {
		return nil, err
	} else if ws {
		return &Result{Pattern: transport.WS}, nil
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
	res := &Result{Opened: op, Pattern: transport.Poll}
	if IsEventStream(resp.Header.Get("Content-Type")) {
		res.Pattern = transport.SSE
		if req.Body != nil {
			res.Pattern = transport.AIStream
		}
		return res, nil
	}
	if req.Body != nil || (hreq.Method != http.MethodGet && hreq.Method != http.MethodHead) {
		res.Once = true
	}
	return res, nil
}

// IsEventStream reports whether a Content-Type is text/event-stream
// (parameters and a trailing ";" allowed; the charset is ignored).
func IsEventStream(ct string) bool {
	mt, _, err := mime.ParseMediaType(strings.TrimSuffix(strings.TrimSpace(ct), ";"))
	return err == nil && mt == "text/event-stream"
}
