package report

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/rtbench/rtbench/transport"
)

// RequestHead writes a request's method, target and headers as `curl -v`
// does, each
// line after "> ": secrets in the URL and in credential headers redacted,
// control characters made visible.
func RequestHead(w io.Writer, req *http.Request) {
	target := req.URL.RequestURI()
	// No protocol: it is known only once the connection is (HTTP/2 by
	// ALPN); the response's line says it.
	fmt.Fprintf(w, "> %s %s\n", req.Method, Visible(transport.RedactURL(target)))
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	fmt.Fprintf(w, "> Host: %s\n", Visible(host))
	writeHTTPHeader(w, "> ", req.Header)
	fmt.Fprintln(w, ">")
}

// ResponseHead writes a response's status line and headers, each line after
// prefix ("< " for -v, "" for -i), then an empty line; secrets redacted,
// control characters made visible.
func ResponseHead(w io.Writer, resp *http.Response, prefix string) {
	fmt.Fprintf(w, "%s%s %s\n", prefix, resp.Proto, Visible(resp.Status))
	writeHTTPHeader(w, prefix, resp.Header)
	fmt.Fprintln(w, strings.TrimRight(prefix, " "))
}

// ResponseHeadJSON writes a response's status and headers as one JSON
// object, {"kind":"headers",...}, a line of listen --json -i.
func ResponseHeadJSON(w io.Writer, resp *http.Response) error {
	h := map[string][]string{}
	for name, vs := range resp.Header {
		for _, v := range vs {
			h[name] = append(h[name], transport.RedactHeader(name, v))
		}
	}
	b, err := json.Marshal(struct {
		Kind    string              `json:"kind"`
		Status  int                 `json:"status"`
		Proto   string              `json:"proto"`
		URL     string              `json:"url"`
		Headers map[string][]string `json:"headers"`
	}{"headers", resp.StatusCode, resp.Proto, transport.RedactURL(resp.Request.URL.String()), h})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func writeHTTPHeader(w io.Writer, prefix string, h http.Header) {
	for _, name := range slices.Sorted(maps.Keys(h)) {
		for _, v := range h[name] {
			fmt.Fprintf(w, "%s%s: %s\n", prefix, Visible(name), Visible(transport.RedactHeader(name, v)))
		}
	}
}
