package cmd

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/report"
	"github.com/rtbench/rtbench/transport/transporttest"
)

// h2Stats reads the peer's count of HTTP/2 connections (sessions) and
// streams it has seen, over a connection of c's that stays open, so that
// reading the counts adds no connection after the first read.
func h2Stats(t *testing.T, c *http.Client, base string) (sessions, streams int) {
	t.Helper()
	resp, err := c.Get(base + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s struct{ Sessions, Streams int }
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || resp.ProtoMajor != 2 {
		t.Fatalf("/stats over %s: %v", resp.Proto, err)
	}
	return s.Sessions, s.Streams
}

// TestH2Peer runs listen, load and check against testdata/h2peer/server.js,
// an HTTP/2-only TLS server written with Node's built-in http2 module
// (allowHTTP1: false): SSE, polling and an OpenAI-style stream, each
// through the real commands, with the verdicts, the protocol they report
// and, for load, the connections the server saw and the streams on them.
func TestH2Peer(t *testing.T) {
	t.Parallel() // waits on timers and peers, mostly: CI time
	base, ca := transporttest.TLSScriptPeer(t, "node", "../testdata/h2peer/server.js")
	pem, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	var p http.Protocols
	p.SetHTTP2(true)
	stats := &http.Client{Transport: &http.Transport{Protocols: &p, TLSClientConfig: &tls.Config{RootCAs: pool}}}
	t.Cleanup(stats.CloseIdleConnections)
	h2Stats(t, stats, base) // its own connection, once
	const chat = `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`

	t.Run("listen", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			args []string
			out  string // stdout, or the start of each line
		}{
			{"sse", []string{base + "/sse?interval=20", "-n", "3"}, `{"seq":`},
			{"poll", []string{base + "/poll", "--interval", "50ms", "-n", "2"}, `{"seq":`},
			{"ai", []string{"--data", chat, base + "/v1/chat/completions"}, "Hello from a Node http2 server."},
		} {
			t.Run(tc.name, func(t *testing.T) {
				code, out, errOut := runListen(t, "", append([]string{"--cacert", ca}, tc.args...)...)
				if code != 0 || !strings.Contains(errOut, "over HTTP/2") {
					t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
				}
				for _, l := range lines(out) {
					if !strings.HasPrefix(l, tc.out) {
						t.Fatalf("stdout %q, want lines starting %q", out, tc.out)
					}
				}
			})
		}
		t.Run("--http1.1 is refused", func(t *testing.T) {
			code, out, errOut := runListen(t, "", "--cacert", ca, "--http1.1", base+"/sse")
			if code != ExitUnreachable || out != "" || strings.Count(errOut, "\n") != 1 ||
				!strings.Contains(errOut, "(http_version)") || !strings.Contains(errOut, "drop --http1.1") {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit 3 and one line naming --http1.1", code, out, errOut)
			}
		})
	})

	t.Run("check", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			args []string
			mode string
		}{
			{"sse", []string{base + "/sse", "--events", "3", "--within", "5s"}, "sse"},
			{"poll", []string{base + "/poll", "--interval", "50ms"}, "poll"},
			{"ai", []string{"--mode", "ai", "--data", chat, base + "/v1/chat/completions", "--ttft", "5s"}, "ai"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				code, out, errOut := runCmd(t, t.Context(), append([]string{"check", "--json", "--cacert", ca}, tc.args...)...)
				var doc struct {
					Passed bool
					Checks []struct {
						Mode, Protocol string
						Outcomes       []struct{ Kind, Verdict string }
					}
				}
				if err := json.Unmarshal([]byte(out), &doc); err != nil {
					t.Fatalf("exit %d, %v: %q %q", code, err, out, errOut)
				}
				if code != 0 || !doc.Passed || len(doc.Checks) != 1 || doc.Checks[0].Mode != tc.mode || doc.Checks[0].Protocol != "HTTP/2.0" {
					t.Fatalf("exit %d, %+v, stderr %q", code, doc, errOut)
				}
			})
		}
		t.Run("--http1.1 fails", func(t *testing.T) {
			// Node answers as soon as the handshake is done: net/http reads
			// that 403 as the answer (the status fails, exit 1), or as one
			// that came before the request (no answer: reach fails, exit
			// 3); either way the line names the flag.
			code, out, _ := runCmd(t, t.Context(), "check", "--cacert", ca, "--http1.1", base+"/sse")
			status := code == ExitFailed && strings.Contains(out, "FAIL  status ")
			reach := code == ExitUnreachable && strings.Contains(out, "FAIL  reach ") && strings.Contains(out, "(http_version)")
			if !status && !reach || !strings.Contains(out, "drop --http1.1") {
				t.Fatalf("exit %d, stdout %q", code, out)
			}
		})
	})

	t.Run("load", func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			args    []string
			conns   int64 // connections asked and seen by the server
			streams int64 // sessions holding one stream each; 0: request sessions
		}{
			{"500 sse sessions on one connection", []string{"-c", "500", "-d", "3s", base + "/sse"}, 1, 500},
			{"100 sse sessions on 4 connections", []string{"-c", "100", "-d", "2s", "--h2-connections", "4", base + "/sse"}, 4, 100},
			{"polling in a closed loop", []string{"-c", "50", "--interval", "0", "-d", "1s", base + "/poll"}, 1, 0},
			{"ai requests", []string{"-c", "10", "-d", "1s", "--mode", "ai", "--data", chat, base + "/v1/chat/completions"}, 1, 0},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before, _ := h2Stats(t, stats, base)
				code, out, errOut := runCmd(t, t.Context(), append([]string{"load", "--json", "--cacert", ca}, tc.args...)...)
				after, _ := h2Stats(t, stats, base)
				if code != 0 {
					t.Fatalf("exit %d: %s", code, errOut)
				}
				r, err := bench.Decode(strings.NewReader(out))
				if err != nil {
					t.Fatal(err)
				}
				h := r.HTTP2
				if h == nil {
					t.Fatalf("no http2 section: %s", out)
				}
				if int64(after-before) != tc.conns || h.ConnectionsOpened != tc.conns || int64(h.ConnectionsAsked) != tc.conns || h.ConnectionsPeak != tc.conns {
					t.Errorf("the server saw %d new connections, the result %+v; want %d", after-before, h, tc.conns)
				}
				requests := r.Counters[bench.Requests.String()]
				switch {
				case tc.streams > 0 && (h.Streams != r.Counters[bench.Connects.String()] || h.Streams < 1 || h.Streams > tc.streams ||
					r.Counters[bench.SessionsStarted.String()] != tc.streams):
					// Each session that got its stream in the run's time
					// holds it (all of them but on a starved machine).
					t.Errorf("streams %d, connects %d, sessions started %d; want one stream per connected session of %d",
						h.Streams, r.Counters[bench.Connects.String()], r.Counters[bench.SessionsStarted.String()], tc.streams)
				case tc.streams == 0 && (requests == 0 || h.Streams < requests):
					t.Errorf("%d streams for %d requests", h.Streams, requests)
				}
				if want := float64(h.Streams) / float64(tc.conns); h.StreamsPerConnection < want-0.01 || h.StreamsPerConnection > want+0.01 {
					t.Errorf("streams per connection %v, want %v", h.StreamsPerConnection, want)
				}
				for class, e := range r.Errors {
					if class != "canceled" {
						t.Errorf("error %s ×%d: %s", class, e.Count, e.Example)
					}
				}
				if r.Params.Defaults["h2_connections"] == "" {
					t.Errorf("params.defaults %v: no h2_connections", r.Params.Defaults)
				}
				// The text report says the same.
				var text strings.Builder
				if err := report.LoadText(&text, r, nil, report.TextOptions{Width: 200}); err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(text.String(), report.HTTP2Text(h)) || !strings.Contains(text.String(), "HTTP/2: ") {
					t.Errorf("the report lacks %q", report.HTTP2Text(h))
				}
			})
		}
		t.Run("--http1.1 is unreachable", func(t *testing.T) {
			code, _, errOut := runCmd(t, t.Context(), "load", "--cacert", ca, "--http1.1", "-c", "2", "-d", "1s", base+"/sse")
			if code != ExitUnreachable || !strings.Contains(errOut, "drop --http1.1") {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
		})
	})
}
