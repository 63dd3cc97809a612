package mock_test

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/rtbench/rtbench/transport/mock"
	"github.com/rtbench/rtbench/transport/mock/mocktest"
	"github.com/rtbench/rtbench/transport/tlscert"
)

// TestHTTPVersions: the mock speaks HTTP/1.1 and h2c with prior knowledge
// on plain connections, and HTTP/2 or HTTP/1.1 by ALPN with TLS; one
// connection carries many HTTP/2 streams.
func TestHTTPVersions(t *testing.T) {
	cert, err := tlscert.Generate(nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(cert.CertPEM)
	_, plain := mocktest.Start(t, mock.Config{})
	_, secure := mocktest.Start(t, mock.Config{TLS: &tls.Config{Certificates: []tls.Certificate{cert.TLS}}})
	secure = "https://" + strings.TrimPrefix(secure, "http://")
	for _, tc := range []struct {
		name, url   string
		h1, h2, h2c bool // the client's protocols
		want        string
	}{
		{"plain HTTP/1.1", plain, true, false, false, "HTTP/1.1"},
		{"h2c with prior knowledge", plain, false, false, true, "HTTP/2.0"},
		{"TLS, h2 by ALPN", secure, true, true, false, "HTTP/2.0"},
		{"TLS, HTTP/1.1 by ALPN", secure, true, false, false, "HTTP/1.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p http.Protocols
			p.SetHTTP1(tc.h1)
			p.SetHTTP2(tc.h2)
			p.SetUnencryptedHTTP2(tc.h2c)
			tr := &http.Transport{Protocols: &p, TLSClientConfig: &tls.Config{RootCAs: pool}}
			defer tr.CloseIdleConnections()
			for range 3 {
				resp, err := (&http.Client{Transport: tr}).Get(tc.url + "/sse?rate=1000&count=2")
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.Proto != tc.want || strings.Count(string(b), "data: ") != 2 {
					t.Fatalf("%s, body %q; want %s and 2 events", resp.Proto, b, tc.want)
				}
			}
		})
	}
}
