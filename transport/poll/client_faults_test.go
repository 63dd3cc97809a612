package poll_test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/poll"
)

// TestFaults: REFERENCE.md §5 cases that concern a polling client, each from
// a small handler that produces the fault. A case ends by itself: with a
// fatal error (wantClass) or the server's 204 (wantClass empty).
func TestFaults(t *testing.T) {
	never := transport.Reconnect{Policy: transport.PolicyNever}
	maxAttempts := func(n int) transport.Reconnect { r := fast; r.MaxAttempts = n; return r }
	// sequence answers the n-th request (from 0) with statuses[n], the last
	// one after the end; a 200 carries {"seq":n}.
	sequence := func(statuses ...int) http.HandlerFunc {
		var n atomic.Int64
		return func(w http.ResponseWriter, r *http.Request) {
			i := int(n.Add(1))
			code := statuses[min(i, len(statuses))-1]
			if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
				w.Header().Set("Retry-After", "0")
			}
			w.WriteHeader(code)
			if code == http.StatusOK {
				fmt.Fprintf(w, `{"seq":%d}`, i)
			} else if code != http.StatusNoContent {
				fmt.Fprintf(w, `{"error":"status %d"}`, code)
			}
		}
	}
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedURL := "http://" + closed.Addr().String()
	closed.Close()

	for _, path := range paths { // a table of its own each: the handlers count requests
		tests := []struct {
			name      string
			handler   http.HandlerFunc // nil: refusedURL
			client    poll.Client
			wantClass transport.Class // the fatal error's; empty: a clean end
			wantCode  int
			wantErrs  int             // Error calls, the fatal one included
			errClass  transport.Class // of every error, when set
			wantEvent int
		}{
			// #4: 401/403/404/410 fail fast, no retry.
			{name: "401", handler: sequence(401), wantClass: transport.ClassHTTP4xx, wantCode: 401, wantErrs: 1},
			{name: "403", handler: sequence(403), wantClass: transport.ClassHTTP4xx, wantCode: 403, wantErrs: 1},
			{name: "404", handler: sequence(404), wantClass: transport.ClassHTTP4xx, wantCode: 404, wantErrs: 1},
			{name: "410-after-data", handler: sequence(200, 410), wantClass: transport.ClassHTTP4xx, wantCode: 410, wantErrs: 1, wantEvent: 1},
			// #5, #6: 429 and 5xx are retried with backoff, up to MaxAttempts.
			{name: "429-retried", handler: sequence(429), client: poll.Client{Reconnect: maxAttempts(2)}, wantClass: transport.ClassHTTP4xx, wantCode: 429, wantErrs: 3},
			{name: "408-retried", handler: sequence(408), client: poll.Client{Reconnect: maxAttempts(1)}, wantClass: transport.ClassHTTP4xx, wantCode: 408, wantErrs: 2},
			{name: "500-retried", handler: sequence(500), client: poll.Client{Reconnect: maxAttempts(2)}, wantClass: transport.ClassHTTP5xx, wantCode: 500, wantErrs: 3, errClass: transport.ClassHTTP5xx},
			{name: "503-never", handler: sequence(503), client: poll.Client{Reconnect: never}, wantClass: transport.ClassHTTP5xx, wantCode: 503, wantErrs: 1},
			{name: "5xx-then-recovers", handler: sequence(500, 502, 200, 204), client: poll.Client{Reconnect: maxAttempts(2)}, wantErrs: 2, wantEvent: 1},
			// A failure run is consecutive: a success in between resets it.
			{name: "failures-reset-by-success", handler: sequence(500, 500, 200, 500, 500, 204), client: poll.Client{Reconnect: maxAttempts(2)}, wantErrs: 4, wantEvent: 1},
			// #3: 204 is the server's "no more data".
			{name: "204", handler: sequence(204), wantErrs: 0},
			{name: "204-after-data", handler: sequence(200, 200, 204), wantErrs: 0, wantEvent: 2},
			{name: "300-no-location", handler: sequence(300), wantClass: transport.ClassHTTPStatus, wantCode: 300, wantErrs: 1},
			// #7: a redirect loop.
			{
				name: "redirect-loop",
				handler: func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, r.URL.Path, http.StatusFound)
				},
				client:    poll.Client{Reconnect: never},
				wantClass: transport.ClassTooManyRedirects, wantErrs: 1,
			},
			// #15 for polling: the body ends before its Content-Length.
			{
				name: "truncated-body",
				handler: func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Length", "100")
					w.Write([]byte(`{"seq":`))
				},
				client:    poll.Client{Reconnect: never},
				wantClass: transport.ClassEOF, wantCode: 200, wantErrs: 1,
			},
			// The server closes the connection without answering, twice.
			{
				name: "closed-without-answer",
				handler: func() http.HandlerFunc {
					var n atomic.Int64
					return func(w http.ResponseWriter, r *http.Request) {
						if n.Add(1) <= 2 {
							panic(http.ErrAbortHandler)
						}
						w.WriteHeader(http.StatusNoContent)
					}
				}(),
				client:   poll.Client{Reconnect: maxAttempts(2)},
				wantErrs: 2, errClass: transport.ClassEOF,
			},
			// #16 for polling: a body past MaxBody.
			{
				name:      "body-too-large",
				handler:   func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(strings.Repeat("x", 100))) },
				client:    poll.Client{MaxBody: 64, Reconnect: never},
				wantClass: transport.ClassEventTooLarge, wantCode: 200, wantErrs: 1,
			},
			// #21: headers never come.
			{
				name:      "ttfb-timeout",
				handler:   func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
				client:    poll.Client{HTTP: transport.NewHTTPClient(transport.HTTPOptions{TTFBTimeout: 20 * time.Millisecond}), Reconnect: never},
				wantClass: transport.ClassTTFBTimeout, wantErrs: 1,
			},
			// #34: no server; MaxAttempts bounds the retries.
			{name: "refused-max-attempts", client: poll.Client{Reconnect: maxAttempts(3)}, wantClass: transport.ClassRefused, wantErrs: 4},
			{name: "refused-never", client: poll.Client{Reconnect: never}, wantClass: transport.ClassRefused, wantErrs: 1},
		}
		for _, tt := range tests {
			t.Run(path.name+"/"+tt.name, func(t *testing.T) { faultCase(t, path.lean, tt.name == "ttfb-timeout", refusedURL, tt) })
		}
	}
}

func faultCase(t *testing.T, lean *poll.Lean, ttfb bool, refusedURL string, tt struct {
	name      string
	handler   http.HandlerFunc
	client    poll.Client
	wantClass transport.Class
	wantCode  int
	wantErrs  int
	errClass  transport.Class
	wantEvent int
}) {
	{
		{
			url := refusedURL
			if tt.handler != nil {
				srv := httptest.NewServer(tt.handler)
				defer srv.Close()
				url = srv.URL
			}
			c := tt.client
			if lean != nil {
				c.Lean = lean
				if ttfb {
					c.HTTP, c.Lean = nil, &poll.Lean{TTFBTimeout: 20 * time.Millisecond}
				}
			}
			if c.HTTP != nil {
				defer c.HTTP.CloseIdleConnections()
			}
			c.Request.URL = url
			c.Interval = time.Millisecond
			if c.Reconnect.Policy != transport.PolicyNever && c.Reconnect.MaxAttempts == 0 {
				c.Reconnect = fast
			}
			o := &observer{}
			err := runUntil(t, &c, o)
			_, events, errs, closes := o.Snapshot()
			for _, e := range errs {
				t.Logf("error: %s (%s)", e.Class, e.Error())
				if tt.errClass != "" && e.Class != tt.errClass {
					t.Errorf("error class %s, want %s", e.Class, tt.errClass)
				}
			}
			if len(events) != tt.wantEvent {
				t.Errorf("%d events, want %d", len(events), tt.wantEvent)
			}
			if len(errs) != tt.wantErrs {
				t.Errorf("errors %v, want %d", errs, tt.wantErrs)
			}
			for i, e := range errs[:max(len(errs)-1, 0)] {
				if e.Fatal {
					t.Errorf("error %d %v is fatal; only the last may be", i, e.Error())
				}
			}
			last := closes[len(closes)-1]
			if tt.wantClass == "" {
				if err != nil {
					t.Fatalf("Run: %v, want nil (a 204 ends cleanly)", err)
				}
				if !last.Clean || last.Reconnect {
					t.Errorf("last close %+v: want clean, final", last)
				}
				return
			}
			var e *transport.Error
			if !errors.As(err, &e) {
				t.Fatalf("Run: %v (%T), want a *transport.Error", err, err)
			}
			if e.Class != tt.wantClass || e.Code != tt.wantCode || !e.Fatal {
				t.Errorf("Run: class %s code %d fatal %v (%v); want %s %d fatal", e.Class, e.Code, e.Fatal, e, tt.wantClass, tt.wantCode)
			}
			if last.Clean || last.Reconnect {
				t.Errorf("last close %+v: want unclean, final", last)
			}
			if len(errs) > 0 && errs[len(errs)-1].Class != e.Class {
				t.Errorf("the last reported error %v is not the one Run returned", errs[len(errs)-1])
			}
		}
	}
}
