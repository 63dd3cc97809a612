package transport

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"
)

// timeoutErr is a net.Error that timed out, with net/http's wording.
type timeoutErr string

func (e timeoutErr) Error() string { return string(e) }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassify(t *testing.T) {
	dial := func(err error) error { return &net.OpError{Op: "dial", Net: "tcp", Err: err} }
	read := func(err error) error { return &net.OpError{Op: "read", Net: "tcp", Err: err} }
	tests := []struct {
		name string
		err  error
		want Class
	}{
		{"nil", nil, ""},
		{"an *Error keeps its class", fmt.Errorf("wrapped: %w", &Error{Class: ClassHTTP4xx}), ClassHTTP4xx},
		{"canceled", fmt.Errorf("get: %w", context.Canceled), ClassCanceled},
		{"refused", dial(os.NewSyscallError("connect", syscall.ECONNREFUSED)), ClassRefused},
		{"reset", read(os.NewSyscallError("read", syscall.ECONNRESET)), ClassReset},
		{"dns", &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}, ClassDNS},
		{"dial timeout", dial(timeoutErr("i/o timeout")), ClassDialTimeout},
		{"net/http ResponseHeaderTimeout", fmt.Errorf("Get \"http://x/\": %w", timeoutErr("net/http: timeout awaiting response headers")), ClassTTFBTimeout},
		{"the lean SSE path's header deadline", fmt.Errorf("GET http://x/: timeout awaiting response headers (10s): %w", read(os.ErrDeadlineExceeded)), ClassTTFBTimeout},
		{"the lean WebSocket path's handshake deadline", fmt.Errorf("timeout awaiting the handshake's answer (10s): %w", read(os.ErrDeadlineExceeded)), ClassTTFBTimeout},
		{"TLS handshake timeout is no ttfb", timeoutErr("net/http: TLS handshake timeout"), ClassTimeout},
		{"a read deadline mid-stream", read(os.ErrDeadlineExceeded), ClassTimeout},
		{"the text alone is no timeout", errors.New("server said: timeout awaiting response headers"), ClassOther},
		{"unknown CA", x509.UnknownAuthorityError{}, ClassTLSAuthority},
		{"plain HTTP on https", http.ErrSchemeMismatch, ClassTLSRecord},
		{"EOF mid-body", io.ErrUnexpectedEOF, ClassEOF},
		{"emfile", os.NewSyscallError("socket", syscall.EMFILE), ClassEMFILE},
		{"ports ran out", dial(os.NewSyscallError("connect", syscall.EADDRNOTAVAIL)), ClassAddrNotAvail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.err); got != tt.want {
				t.Errorf("Classify(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}
