package ws

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport"
)

func TestParseParams(t *testing.T) {
	tests := []struct {
		query   string
		noHub   bool
		want    params
		wantErr string // substring of the error; "" = valid
	}{
		{query: "", want: params{rate: 1}},
		{query: "channel=room", want: params{channel: "room"}},
		{query: "channel=room&rate=5", want: params{channel: "room", rate: 5}},
		{query: "rate=0", want: params{}},
		{query: "rate=0.001", want: params{rate: 0.001}},
		{query: "rate=1000&jitter=2ms&size=300&count=7&binary=1", want: params{rate: 1000, jitter: 2 * time.Millisecond, size: 300, count: 7, binary: true}},
		{query: "binary=false&count=0", want: params{rate: 1}},
		{query: "rate=0.05&spread=20s", want: params{rate: 0.05, spread: 20 * time.Second}},
		{query: "spread=5", wantErr: `spread: want a duration from 0s to 1h, such as 20s; got "5"`},
		{query: "rate=0&spread=1s", wantErr: `spread="1s" shifts ticks, but there are none (rate 0 or channel): add rate=N or leave spread out`},
		{query: "channel=room&spread=1s", wantErr: `shifts ticks, but there are none`},
		{query: "size=1048576", want: params{rate: 1, size: transport.MaxPayload}},
		{query: "other=1", want: params{rate: 1}},

		{query: "rate=abc", wantErr: `rate: want ticks per second, 0 (no ticks) or a number from 0.001 to 1000; got "abc"`},
		{query: "rate=-1", wantErr: `rate: want ticks per second, 0 (no ticks) or a number from 0.001 to 1000; got "-1"`},
		{query: "rate=NaN", wantErr: `rate: want ticks per second, 0 (no ticks) or a number from 0.001 to 1000; got "NaN"`},
		{query: "rate=Inf", wantErr: `rate: want ticks per second, 0 (no ticks) or a number from 0.001 to 1000; got "Inf"`},
		{query: "rate=1001", wantErr: `rate: want ticks per second, 0 (no ticks) or a number from 0.001 to 1000; got "1001"`},
		{query: "rate=0.0001", wantErr: `rate: want ticks per second, 0 (no ticks) or a number from 0.001 to 1000; got "0.0001"`},
		{query: "jitter=5", wantErr: `jitter: want a duration from 0s to 1h, such as 5ms; got "5"`},
		{query: "jitter=-1ms", wantErr: `jitter: want a duration from 0s to 1h, such as 5ms; got "-1ms"`},
		{query: "jitter=2h", wantErr: `jitter: want a duration from 0s to 1h, such as 5ms; got "2h"`},
		{query: "size=1048577", wantErr: `size="1048577": want tick payload bytes from 0 to 1048576`},
		{query: "size=-1", wantErr: `size="-1"`},
		{query: "count=x", wantErr: `count="x": want a whole number of ticks (0 = no limit)`},
		{query: "count=-3", wantErr: `count="-3"`},
		{query: "rate=0&count=3", wantErr: `count="3" counts ticks, but rate is 0: add rate=N or leave count out`},
		{query: "channel=room&count=3", wantErr: `but rate is 0`},
		{query: "binary=yes", wantErr: `binary="yes": want 1 (binary frames) or 0 (text frames)`},
		{query: "channel=a%20b", wantErr: `channel="a b": channel names are 1-128 characters`},
		{query: "channel=" + strings.Repeat("c", 129), wantErr: `channel names are 1-128 characters`},
		{query: "channel=room", noHub: true, wantErr: `channel="room": this server has no channels; leave channel out`},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseParams(q, DefaultMaxRate, !tt.noHub)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("error = %v", err)
			}
			if got != tt.want {
				t.Errorf("params = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestMaxRateOption(t *testing.T) {
	q := url.Values{"rate": {"50"}}
	if _, err := parseParams(q, 40, true); err == nil || !strings.Contains(err.Error(), "from 0.001 to 40") {
		t.Fatalf("rate=50 with MaxRate 40: error = %v, want one naming 40", err)
	}
}

// TestBadRequests checks the HTTP answers given before any upgrade: 400 for
// a bad query, 426 for a plain GET, both as JSON errors.
func TestBadRequests(t *testing.T) {
	ts := newTestServer(t, &Handler{})
	tests := []struct {
		name    string
		query   string
		upgrade bool
		status  int
		errText string
	}{
		{"bad rate", "?rate=fast", true, http.StatusBadRequest, `rate: want ticks per second, 0 (no ticks) or a number from 0.001 to 1000; got "fast"`},
		{"bad size", "?size=2000000", true, http.StatusBadRequest, `size="2000000"`},
		{"bad channel", "?channel=no%20spaces", true, http.StatusBadRequest, `channel="no spaces"`},
		{"bad query without upgrade", "?jitter=x", false, http.StatusBadRequest, `jitter: want a duration from 0s to 1h, such as 5ms; got "x"`},
		{"plain GET", "", false, http.StatusUpgradeRequired, "/ws speaks WebSocket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, "http"+strings.TrimPrefix(ts.url, "ws")+tt.query, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.upgrade {
				req.Header.Set("Connection", "Upgrade")
				req.Header.Set("Upgrade", "websocket")
				req.Header.Set("Sec-WebSocket-Version", "13")
				req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
			}
			resp, err := ts.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tt.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			var e struct{ Error string }
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("body %s: %v", body, err)
			}
			if !strings.Contains(e.Error, tt.errText) {
				t.Errorf("error = %q, want it to contain %q", e.Error, tt.errText)
			}
		})
	}
	if s := ts.stats.Snapshot(); s.Open[transport.WS] != 0 || s.Events[transport.WS] != 0 {
		t.Errorf("stats after refused requests: %+v, want nothing counted", s)
	}
}
