package check

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// TestParseFileExamples: the documented examples in testdata/check parse
// into the specs they describe.
func TestParseFileExamples(t *testing.T) {
	getenv := env(map[string]string{"RTBENCH_HOST": "127.0.0.1:8080", "API_TOKEN": "s3cret"})
	f, err := LoadFile(filepath.Join("..", "..", "testdata", "check", "every-key.yaml"), getenv)
	if err != nil {
		t.Fatal(err)
	}
	if f.Timeout != time.Minute || len(f.Checks) != 3 {
		t.Fatalf("timeout %v, %d checks", f.Timeout, len(f.Checks))
	}
	c := f.Checks[0]
	a := c.Assert
	switch {
	case c.Name != "orders feed", c.Request.URL != "https://127.0.0.1:8080/sse?channel=orders", c.Mode != ModeSSE,
		c.Request.Method != "GET", c.Request.Header.Get("Authorization") != "Bearer s3cret", c.Concurrency != 2,
		c.Timeout != 20*time.Second, c.Reconnect != transport.PolicyNever, c.HTTP.Insecure:
		t.Errorf("check 1 target: %+v", c)
	case a.Status != "2xx", a.ContentType != "text/event-stream", a.Events != 3, a.Within != 5*time.Second,
		a.FirstEvent != 2*time.Second, len(a.Expect) != 2, a.Expect[1] != `status == "open" && total >= 10`,
		len(a.Thresholds) != 2:
		t.Errorf("check 1 assertions: %+v", a)
	}
	ai := f.Checks[1]
	if ai.Timeout != time.Minute || ai.Assert.TTFT != time.Second || ai.Assert.Complete == nil || !*ai.Assert.Complete || !strings.Contains(string(ai.Request.Body), `"stream":true`) {
		t.Errorf("check 2: %+v", ai)
	}
	if ws := f.Checks[2]; !ws.Assert.Echo || ws.Request.URL != "wss://127.0.0.1:8080/ws" || ws.Assert.ExpectFirst != `type == "ack"` {
		t.Errorf("check 3: %+v", ws)
	} else if m := ws.Request.Send.Messages(); len(m) != 2 || string(m[0]) != `{"type":"auth","token":"s3cret"}` || string(m[1]) != `{"type":"subscribe","id":"0-2"}` {
		t.Errorf("check 3 sends %q", m)
	}
	if _, err := LoadFile(filepath.Join("..", "..", "testdata", "check", "serve.yaml"), getenv); err != nil {
		t.Fatal(err)
	}
}

// TestParseFileErrors: every error names the file and the line, and says
// what to write instead.
func TestParseFileErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "f.yaml is empty"},
		{"timeout: 5s\n", "f.yaml: no checks"},
		{"checks: 3\n", "f.yaml:1: cannot unmarshal !!int `3` into a list of checks"},
		{"timout: 5s\nchecks: []\n", `f.yaml:1: unknown key "timout"; known keys: timeout, checks`},
		{"timeout: soon\n", `f.yaml:1: "soon" is not a duration`},
		{"checks:\n  - url: http://h/sse\n    evnts: 3\n", `f.yaml:3: unknown key "evnts"; known keys: name, url,`},
		{"checks:\n  - url: http://h/sse\n    events: many\n", "f.yaml:3: cannot unmarshal !!str `many` into a whole number"},
		{"checks:\n  - url: ws://h/ws\n    send: '{{sesion}}'\n", "send: {{sesion}}: unknown"},
		{"checks:\n  - url: http://h/sse\n    echo: 1\n", "f.yaml:3: cannot unmarshal !!int `1` into true or false"},
		{"checks:\n  - name: a\n", "f.yaml:2: url: missing"},
		{"checks:\n  - url: h/sse\n", `f.yaml:2: url: URL "h/sse" has no scheme`},
		{"checks:\n  - url: http://${HOST}/sse\n", "f.yaml:2: url: ${HOST} is not set in the environment"},
		{"checks:\n  - url: http://h/sse\n    headers: {X-Key: '${KEY}'}\n", "f.yaml:3: headers: ${KEY} is not set"},
		{"checks:\n  - url: http://h/sse\n    headers: {'a b': c}\n", `f.yaml:3: headers: "a b" is not a header name`},
		{"checks:\n  - url: http://h/sse\n\n    within: 2m\n", "f.yaml:4: within: 2m0s is longer than the check's timeout 30s"},
		{"checks:\n  - url: http://h/sse\n    expect: [ok, 'a =']\n", `f.yaml:3: expect: bad expression "a ="`},
		{"checks:\n  - url: http://h/sse\n    thresholds: p99<1s\n", `f.yaml:3: thresholds: "p99<1s": at 0: unknown metric or counter "p99"`},
		{"checks:\n  - url: http://h/sse\n    reconnect: sometimes\n", `f.yaml:3: reconnect: "sometimes": want spec, always or never`},
		{"checks:\n  - url: http://h/sse\n  - url: http://h/sse\n", `f.yaml:3: checks 1 and 2 are both named "http://h/sse"`},
		{"checks:\n  - url: [\n", "f.yaml:2: did not find expected node content"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := ParseFile("f.yaml", []byte(tt.in), env(nil))
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %v\nwant one line containing %q", err, tt.want)
			}
		})
	}
	if _, err := LoadFile(filepath.Join(t.TempDir(), "none.yaml"), nil); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("missing file: %v", err)
	}
	big := filepath.Join(t.TempDir(), "big.yaml")
	os.WriteFile(big, make([]byte, MaxFileBytes+1), 0o644)
	if _, err := LoadFile(big, nil); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Fatalf("big file: %v", err)
	}
}

// TestParseFileStatusForms: status as a number or a string, expect as one
// string or a list.
func TestParseFileStatusForms(t *testing.T) {
	f, err := ParseFile("f.yaml", []byte("checks:\n  - url: http://h/a\n    status: 200\n    expect: done\n  - url: http://h/b\n    status: \"2xx,304\"\n    expect: [a, b]\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if a := f.Checks[0].Assert; a.Status != "200" || len(a.Expect) != 1 || a.Expect[0] != "done" {
		t.Errorf("check 1: %+v", a)
	}
	if a := f.Checks[1].Assert; a.Status != "2xx,304" || len(a.Expect) != 2 {
		t.Errorf("check 2: %+v", a)
	}
}
