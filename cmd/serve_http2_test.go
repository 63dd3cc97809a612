package cmd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/transport/tlscert"
)

// startServe runs `rtbench serve args…` in-process until the test ends and
// returns its listening URL and everything it printed up to then.
func startServe(t *testing.T, args ...string) (base string, errOut *syncBuffer) {
	t.Helper()
	env, _, _ := TestEnv()
	errOut = &syncBuffer{ch: make(chan struct{}, 1)}
	env.ErrOut = errOut
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, env, BuildInfo{}, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...))
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d: %s", code, errOut.String())
		}
	})
	re := regexp.MustCompile(`listening on (https?://[0-9.:]+) `)
	for {
		select {
		case <-errOut.ch:
		case code := <-done:
			done <- code
			t.Fatalf("serve exited %d: %s", code, errOut.String())
		}
		if m := re.FindStringSubmatch(errOut.String()); m != nil {
			return m[1], errOut
		}
	}
}

// TestServeTLS: serve --tls prints the certificate's fingerprint and the
// path of its PEM; a client that trusts that file (and nothing else)
// reaches it over HTTP/2, sees the fingerprint printed, and the file is
// gone after the server stops.
func TestServeTLS(t *testing.T) {
	var pemFile string
	t.Run("serve", func(t *testing.T) {
		base, errOut := startServe(t, "--tls")
		if !strings.HasPrefix(base, "https://") {
			t.Fatalf("listening on %s", base)
		}
		out := errOut.String()
		m := regexp.MustCompile(`--cacert (\S+\.pem)`).FindStringSubmatch(out)
		fp := regexp.MustCompile(`fingerprint is ([0-9A-F:]{95})\n`).FindStringSubmatch(out)
		if m == nil || fp == nil || !strings.Contains(out, "--insecure") || !strings.Contains(out, "127.0.0.1, ::1, localhost") {
			t.Fatalf("stderr %q: want the fingerprint, the PEM path, --insecure and the names", out)
		}
		pemFile = m[1]
		pemBytes, err := os.ReadFile(pemFile)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			t.Fatal("no certificate in the PEM file")
		}
		var p http.Protocols
		p.SetHTTP1(true)
		p.SetHTTP2(true)
		tr := &http.Transport{Protocols: &p, TLSClientConfig: &tls.Config{RootCAs: pool}}
		defer tr.CloseIdleConnections()
		for _, u := range []string{base, strings.Replace(base, "127.0.0.1", "localhost", 1)} {
			resp, err := (&http.Client{Transport: tr}).Get(u + "/sse?rate=1000&count=2")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.Proto != "HTTP/2.0" || strings.Count(string(b), "data: ") != 2 {
				t.Fatalf("%s: %s, body %q", u, resp.Proto, b)
			}
			if got := tlscert.Fingerprint(resp.TLS.PeerCertificates[0].Raw); got != fp[1] {
				t.Errorf("the server presents %s, serve printed %s", got, fp[1])
			}
		}
		// WebSockets stay on HTTP/1.1 over TLS.
		code, stdout, stderr := runCmd(t, t.Context(), "listen", "--cacert", pemFile, "-n", "1", "wss"+strings.TrimPrefix(base, "https")+"/ws?rate=100")
		if code != 0 || stdout == "" {
			t.Errorf("listen wss: exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
	})
	if _, err := os.Stat(pemFile); !os.IsNotExist(err) {
		t.Errorf("the PEM file %s is still there after the server stopped: %v", pemFile, err)
	}
}

// TestServeH2C: plain serve speaks HTTP/2 to a client with prior knowledge
// (listen --http2) and HTTP/1.1 to the others, on the same port.
func TestServeH2C(t *testing.T) {
	base, _ := startServe(t)
	for _, tc := range []struct {
		flag string
		want string
	}{{"--http2", "over HTTP/2"}, {"--http1.1", ""}} {
		code, stdout, stderr := runCmd(t, t.Context(), "listen", tc.flag, "-n", "2", base+"/sse?rate=100")
		if code != 0 || strings.Count(stdout, "\n") != 2 {
			t.Fatalf("%s: exit %d, stdout %q, stderr %q", tc.flag, code, stdout, stderr)
		}
		if got := strings.Contains(stderr, "over HTTP/2"); got != (tc.want != "") {
			t.Errorf("%s: summary %q", tc.flag, stderr)
		}
	}

	// load --http2: 100 sessions as streams of one h2c connection, which
	// is the one connection the server accepted for them.
	hc := &http.Client{}
	defer hc.CloseIdleConnections()
	accepted := func() int {
		resp, err := hc.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		m := regexp.MustCompile(`(?m)^rtbench_serve_connections_accepted_total (\d+)$`).FindSubmatch(b)
		if m == nil {
			t.Fatalf("no accepted count in /metrics")
		}
		n, _ := strconv.Atoi(string(m[1]))
		return n
	}
	before := accepted()
	code, out, errOut := runCmd(t, t.Context(), "load", "--http2", "--json", "-c", "100", "-d", "1s", base+"/sse?rate=10")
	if code != 0 {
		t.Fatalf("load --http2: exit %d: %s", code, errOut)
	}
	r, err := bench.Decode(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if got := accepted() - before; got != 1 || r.HTTP2 == nil || r.HTTP2.ConnectionsOpened != 1 || r.HTTP2.Streams < 1 || r.HTTP2.Streams != r.Counters["connects"] {
		t.Errorf("the server accepted %d connections; http2 %+v, connects %d; want 1 connection carrying every session's stream", got, r.HTTP2, r.Counters["connects"])
	}
}
