package tlscert

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestGenerateServes: a client that trusts the PEM (and only it) reaches a
// server that serves the pair, at each of the names; the fingerprint is the
// one the server presents.
func TestGenerateServes(t *testing.T) {
	c, err := Generate(nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(c.CertPEM), "-----BEGIN CERTIFICATE-----") || len(strings.Split(c.Fingerprint, ":")) != 32 {
		t.Fatalf("PEM %.30q, fingerprint %q", c.CertPEM, c.Fingerprint)
	}
	if d := time.Until(c.NotAfter); d < 59*time.Minute || d > time.Hour {
		t.Errorf("valid for %v, want an hour", d)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{c.TLS}}
	srv.StartTLS()
	defer srv.Close()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(c.CertPEM) {
		t.Fatal("the PEM holds no certificate")
	}
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	for _, host := range []string{"127.0.0.1", "localhost"} {
		conn, err := tls.Dial("tcp", net.JoinHostPort(host, port), &tls.Config{RootCAs: pool, ServerName: host})
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		if got := Fingerprint(conn.ConnectionState().PeerCertificates[0].Raw); got != c.Fingerprint {
			t.Errorf("%s presents %s, want %s", host, got, c.Fingerprint)
		}
		conn.Close()
	}
	// Not valid for another name.
	if conn, err := tls.Dial("tcp", srv.Listener.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "example.com"}); err == nil {
		conn.Close()
		t.Error("the certificate is valid for example.com")
	}
}
