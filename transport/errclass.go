package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
)

// Class is one of a fixed set of error classes, so that 100,000 failing
// connections make one line per class in a report, not 100,000 strings. The
// names follow shared/REFERENCE.md §5 and k6's error-code taxonomy; they are
// part of the JSON result contract.
type Class string

const (
	// Reaching the target.
	ClassDNS              Class = "dns_error"
	ClassRefused          Class = "conn_refused"
	ClassDialTimeout      Class = "dial_timeout"
	ClassUnreachable      Class = "net_unreachable"
	ClassEMFILE           Class = "emfile"         // too many open files
	ClassAddrNotAvail     Class = "addr_not_avail" // ephemeral ports ran out
	ClassTLSAuthority     Class = "tls_unknown_authority"
	ClassTLSExpired       Class = "tls_expired"
	ClassTLSHostname      Class = "tls_hostname"
	ClassTLSRecord        Class = "tls_record_header" // plain HTTP on an https URL
	ClassTLS              Class = "tls_error"
	ClassTooManyRedirects Class = "too_many_redirects"

	// The connection, once open.
	ClassReset       Class = "conn_reset"
	ClassBrokenPipe  Class = "broken_pipe"
	ClassEOF         Class = "unexpected_eof"
	ClassTTFBTimeout Class = "ttfb_timeout" // no response headers in time
	ClassIdleTimeout Class = "idle_timeout" // nothing (not even a comment or ping) in time
	ClassTimeout     Class = "timeout"

	// HTTP answers.
	ClassHTTP4xx        Class = "http_4xx"
	ClassHTTP5xx        Class = "http_5xx"
	ClassHTTPStatus     Class = "http_status" // any other status a stream cannot use (204, 3xx without Location…)
	ClassBadContentType Class = "bad_content_type"
	ClassNotStreaming   Class = "not_streaming" // a finite Content-Length body: a warning
	ClassCompressed     Class = "compressed"    // a compressed (gzip) event stream: a warning

	// Stream content.
	ClassTruncatedEvent   Class = "truncated_event"
	ClassEventTooLarge    Class = "event_too_large"
	ClassInvalidUTF8      Class = "invalid_utf8"
	ClassStreamIncomplete Class = "stream_incomplete" // an AI stream ended without its terminator
	// ClassStreamError is an AI stream's own error event: OpenAI Responses
	// response.failed or error, an AI SDK error part (3: or
	// {"type":"error"}), an Anthropic error event, an {"error":…} chunk of
	// any other shape. The stream ends with it.
	ClassStreamError Class = "stream_error"
	ClassBadChunk    Class = "bad_json_chunk"
	ClassDowngrade   Class = "redirect_downgrade" // https → http: a warning

	// WebSocket.
	ClassWSHandshakeStatus Class = "ws_handshake_status"
	ClassWSBadHandshake    Class = "ws_bad_handshake"
	ClassWSClose           Class = "ws_close" // closed with a code other than 1000/1001
	ClassWSAbnormal        Class = "ws_abnormal_close"
	ClassWSProtocol        Class = "ws_protocol_error" // the server broke RFC 6455: closed with 1002
	ClassMessageTooBig     Class = "message_too_big"
	ClassPingTimeout       Class = "ping_timeout"
	ClassInvalidUTF8Text   Class = "invalid_utf8_text"

	// Managed pub/sub services: an error the service reported in its own
	// protocol (a pusher:error, a close with a 4000–4299 code, a refused
	// HTTP API call), counted by the service's code (0 when it gave none).
	ClassPusherError Class = "pusher_error"

	// Scenarios (bench/flow): a capture that found no such field or header
	// in the answer, an until condition a subscription ended without.
	ClassCapture    Class = "capture_failed"
	ClassUntilUnmet Class = "until_unmet"

	ClassCanceled Class = "canceled"
	ClassOther    Class = "other"
)

// WholeBody is the error of an answer to a streaming request that has a
// Content-Length (class not_streaming): the server sends a whole body, not
// a stream.
func WholeBody(url string, length int64) error {
	return fmt.Errorf("%s: the server sends a whole body, not a stream (Content-Length: %d); --reconnect always fetches it again each time it ends, as a browser's EventSource does", url, length)
}

// Warning reports whether the class is a warning, not an error: the run
// goes on and thresholds on errors leave it out.
func (c Class) Warning() bool {
	return c == ClassNotStreaming || c == ClassDowngrade || c == ClassCompressed
}

// ClassHTTPVersion: the server and rtbench agree on no HTTP version: it
// refused the ALPN offer (an HTTP/2-only server and --http1.1, an
// HTTP/1.1-only server and --http2), or answered --http2 over HTTP/1.x.
const ClassHTTPVersion Class = "http_version"

// Unreachable reports whether the class means the target could not be
// reached at all (exit code 3), as opposed to a target that answered badly.
func (c Class) Unreachable() bool {
	switch c {
	case ClassDNS, ClassRefused, ClassDialTimeout, ClassUnreachable, ClassAddrNotAvail,
		ClassTLSAuthority, ClassTLSExpired, ClassTLSHostname, ClassTLSRecord, ClassTLS, ClassHTTPVersion:
		return true
	}
	return false
}

// ErrTooManyRedirects is returned by the HTTP client after MaxRedirects.
var ErrTooManyRedirects = errors.New("too many redirects")

// Classify maps a network, TLS or context error to its class. Errors that
// are already *Error keep their class.
func Classify(err error) Class {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	var (
		dnsErr      *net.DNSError
		unknownCA   x509.UnknownAuthorityError
		hostErr     x509.HostnameError
		certInvalid x509.CertificateInvalidError
		recordErr   tls.RecordHeaderError
		tlsVerify   *tls.CertificateVerificationError
		tlsAlert    tls.AlertError
		opErr       *net.OpError
	)
	switch {
	case errors.Is(err, context.Canceled):
		return ClassCanceled
	case errors.Is(err, ErrTooManyRedirects):
		return ClassTooManyRedirects
	case errors.As(err, &dnsErr):
		return ClassDNS
	case errors.As(err, &unknownCA):
		return ClassTLSAuthority
	case errors.As(err, &hostErr):
		return ClassTLSHostname
	case errors.As(err, &certInvalid):
		if certInvalid.Reason == x509.Expired {
			return ClassTLSExpired
		}
		return ClassTLS
	case errors.As(err, &recordErr), errors.Is(err, http.ErrSchemeMismatch):
		// net/http turns a RecordHeaderError that reads "HTTP/" into
		// ErrSchemeMismatch: plain HTTP on an https URL either way.
		return ClassTLSRecord
	case noALPN(err):
		return ClassHTTPVersion
	case errors.As(err, &tlsVerify), errors.As(err, &tlsAlert):
		return ClassTLS
	case errors.Is(err, syscall.ECONNREFUSED):
		return ClassRefused
	case errors.Is(err, syscall.ECONNRESET):
		return ClassReset
	case errors.Is(err, syscall.EPIPE):
		return ClassBrokenPipe
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return ClassEMFILE
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return ClassAddrNotAvail
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return ClassUnreachable
	case errors.Is(err, io.ErrUnexpectedEOF):
		return ClassEOF
	}
	if errors.As(err, &opErr) && opErr.Op == "dial" && isTimeout(err) {
		return ClassDialTimeout
	}
	if isTimeout(err) && awaitingHeaders(err) {
		return ClassTTFBTimeout
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || isTimeout(err) {
		return ClassTimeout
	}
	return ClassOther
}

// noALPN says that a TLS handshake failed for want of a common application
// protocol (alert 120, no_application_protocol): the server speaks none of
// the HTTP versions offered. Go reports the peer's alert in an unexported
// type, so only its text tells.
func noALPN(err error) bool {
	return strings.Contains(err.Error(), "tls: no application protocol")
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// awaitingHeaders says that a timeout came while waiting for the response
// headers: net/http's ResponseHeaderTimeout ("timeout awaiting response
// headers", an unexported type, so only its text tells), and the lean
// SSE and WebSocket paths, which say the same of their own deadline.
func awaitingHeaders(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "awaiting response headers") || strings.Contains(msg, "awaiting the handshake's answer")
}

// Advice says what to do about a class whose cause is on the machine that
// runs rtbench rather than on the target; empty for the others.
func Advice(c Class) string {
	switch c {
	case ClassAddrNotAvail:
		return "the local ephemeral ports ran out (or the source address is not this host's): reuse connections (keep-alive) " +
			"instead of opening one per request, spread connections over more source addresses with --source-ips, " +
			"or widen net.ipv4.ip_local_port_range"
	case ClassEMFILE:
		return "the open-files limit was reached: raise it with `ulimit -n` (and the hard limit, `ulimit -Hn`), or lower -c"
	case ClassTLSAuthority:
		return "the certificate is signed by an authority this machine does not trust: give its CA with --cacert FILE, or skip verification with --insecure (never against production)"
	case ClassTLSExpired:
		return "the certificate has expired (or is not yet valid): renew it, or skip verification with --insecure"
	case ClassTLSHostname:
		return "the certificate is for another name: use the name it was issued for, or skip verification with --insecure"
	case ClassTLSRecord:
		return "the server speaks plain HTTP on an https URL: use http://"
	case ClassTLS:
		return "the TLS handshake failed: check the URL's scheme and port, --cacert FILE, or --insecure"
	case ClassTTFBTimeout:
		return "the server accepted the connection but sent no response headers in time: raise --ttfb-timeout, or look at the server"
	}
	return ""
}

// HTTPStatusClass is the class of an HTTP status a stream cannot use.
func HTTPStatusClass(code int) Class {
	switch {
	case code >= 400 && code < 500:
		return ClassHTTP4xx
	case code >= 500 && code < 600:
		return ClassHTTP5xx
	}
	return ClassHTTPStatus
}
