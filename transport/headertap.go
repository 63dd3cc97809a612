package transport

import (
	"net/http"
	"strings"
)

// HeaderTap is an http.RoundTripper that shows each request to Request
// just before it is sent and its response to Response once the headers
// arrived (listen -v and -i). The hooks must not keep or modify what they
// are given, nor read the body. A nil hook is skipped.
type HeaderTap struct {
	Base     http.RoundTripper
	Request  func(*http.Request)
	Response func(*http.Response)
}

// RoundTrip implements http.RoundTripper.
func (t *HeaderTap) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.Request != nil {
		t.Request(req)
	}
	resp, err := t.Base.RoundTrip(req)
	if err == nil && t.Response != nil {
		t.Response(resp)
	}
	return resp, err
}

// RedactHeader is a header's value as it may be shown: the value of a
// header that carries a credential (Authorization, Proxy-Authorization,
// Cookie, Set-Cookie, and names SecretName knows: X-Api-Key …) is replaced
// by "***", keeping an Authorization scheme ("Bearer ***").
func RedactHeader(name, value string) string {
	n := strings.ToLower(name)
	switch {
	case n == "sec-websocket-key" || n == "sec-websocket-accept":
		return value // a nonce and its hash, not a secret
	case n == "cookie" || n == "set-cookie":
		return "***"
	case n == "authorization" || n == "proxy-authorization":
		if scheme, _, ok := strings.Cut(strings.TrimSpace(value), " "); ok {
			return scheme + " ***"
		}
		return "***"
	case SecretName(name):
		return "***"
	}
	return value
}
