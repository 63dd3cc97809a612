package cmd

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport/mock"
)

// TestBadInput feeds every command malformed flags, URLs, bodies and files,
// each through a real rtbench process (procStart), so that a panic would
// show: the exit code is 2 (usage) or 3 (unreachable), stdout stays empty,
// and stderr is one line, "rtbench: …", naming the input, with no stack
// trace.
func TestBadInput(t *testing.T) {
	_, base := procMock(t, mock.Config{})
	sse, wsURL := base+"/sse", "ws"+strings.TrimPrefix(base, "http")+"/ws"
	dead := deadAddr(t)
	inUse, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inUse.Close() })

	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var (
		missing   = filepath.Join(dir, "missing.json")
		empty     = file("empty.json", "")
		truncated = file("truncated.json", `{"schema":"rtbench.result/v1","version":"x","metrics":{"delivery":{"count":`)
		otherKind = file("compare.json", `{"schema":"rtbench.compare/v1","patterns":[]}`)
		noSchema  = file("other.json", `{"name":"not a result"}`)
		array     = file("array.json", `[1,2,3]`)
		binary    = file("binary.json", "\x00\x01\xff\xfe\x89PNG\r\n\x1a\n\x00\x00")
		notPEM    = file("ca.pem", "not a certificate\n")
		noDir     = filepath.Join(dir, "no-such-dir", "out.json")
		unknown   = file("unknown.yaml", "checks:\n  - name: x\n    url: "+sse+"\n    bogus: 1\n")
		badYAML   = file("bad.yaml", "checks: [\n")
		emptyYAML = file("empty.yaml", "")
		wsYAML    = file("ws.yaml", "checks:\n  - name: chat\n    url: "+wsURL+"\n")
	)

	type tc struct {
		args    []string
		code    int    // 2 or 3
		mention string // a part of the one line on stderr
	}
	tests := []tc{
		// The root command.
		{[]string{"--nope"}, 2, "unknown flag: --nope"},
		{[]string{"bogus"}, 2, `unknown command "bogus"`},
		{[]string{"help", "nope"}, 2, `unknown help topic "nope"`},
		{[]string{"--version=maybe"}, 2, `invalid argument "maybe"`},

		// serve
		{[]string{"serve", "--nope"}, 2, "unknown flag: --nope"},
		{[]string{"serve", "extra"}, 2, `unknown command "extra"`},
		{[]string{"serve", "--addr", "bad"}, 2, "want host:port"},
		{[]string{"serve", "--addr", "127.0.0.1:70000"}, 2, `port "70000" is not a port number`},
		{[]string{"serve", "--addr", "127.0.0.1:-1"}, 2, "is not a port number"},
		{[]string{"serve", "--addr", "[::1"}, 2, "want host:port"},
		{[]string{"serve", "--addr", "0.0.0.0:0"}, 2, "--allow-remote"},
		{[]string{"serve", "--addr", inUse.Addr().String()}, 2, "already in use"},
		{[]string{"serve", "--fault", "bogus"}, 2, `unknown fault "bogus"`},
		{[]string{"serve", "--fault", "stall:x"}, 2, `fault "stall:x"`},
		{[]string{"serve", "--fault", "status:"}, 2, `fault "status:"`},
		{[]string{"serve", "--fault-rate", "2"}, 2, "--fault-rate"},
		{[]string{"serve", "--tps", "abc"}, 2, `invalid argument "abc"`},
		{[]string{"serve", "--heartbeat", "5x"}, 2, `invalid argument "5x"`},
		{[]string{"serve", "--origins", "["}, 2, `--origins "["`},
		{[]string{"serve", "--max-conns", "-1"}, 2, "--max-conns"},

		// listen: flags, URLs, bodies and files.
		{[]string{"listen"}, 2, "accepts 1 arg(s), received 0"},
		{[]string{"listen", sse, sse}, 2, "accepts 1 arg(s), received 2"},
		{[]string{"listen", "--nope", sse}, 2, "unknown flag: --nope"},
		{[]string{"listen", "-n", "-1", sse}, 2, "--count -1"},
		{[]string{"listen", "-n", "abc", sse}, 2, `invalid argument "abc"`},
		{[]string{"listen", "--timeout", "5x", sse}, 2, `invalid argument "5x"`},
		{[]string{"listen", "--timeout", "-1s", sse}, 2, "--timeout -1s"},
		{[]string{"listen", "--mode", "grpc", sse}, 2, `--mode "grpc"`},
		{[]string{"listen", "--reconnect", "sometimes", sse}, 2, `--reconnect "sometimes"`},
		{[]string{"listen", "--until", "==", sse}, 2, "--until"},
		{[]string{"listen", "--max-event", "1", sse}, 2, "--max-event 1"},
		{[]string{"listen", "--last-event-id", "a\nb", sse}, 2, "--last-event-id"},
		{[]string{"listen", "-H", "nocolon", sse}, 2, `-H "nocolon": want 'Name: value'`},
		{[]string{"listen", "-H", "Bad Name: v", sse}, 2, "want 'Name: value'"},
		{[]string{"listen", "-H", "X: a\r\nInjected: b", sse}, 2, "control character"},
		{[]string{"listen", "-X", "BAD METHOD", sse}, 2, `-X "BAD METHOD"`},
		{[]string{"listen", "--data", "@/nonexistent/body.json", sse}, 2, "--data @/nonexistent/body.json"},
		{[]string{"listen", "--data", "@" + dir, sse}, 2, "--data @" + dir},
		{[]string{"listen", "--mode", "ai", "--data", `{"model":`, base + "/v1/chat/completions"}, 2, "not valid JSON"},
		{[]string{"listen", "--cacert", "/nonexistent/ca.pem", sse}, 2, "--cacert /nonexistent/ca.pem"},
		{[]string{"listen", "--cacert", notPEM, sse}, 2, "no PEM certificate"},
		{[]string{"listen", "127.0.0.1:8080/sse"}, 2, "has no scheme"},
		{[]string{"listen", "ftp://127.0.0.1/x"}, 2, `scheme "ftp" is not supported`},
		{[]string{"listen", "http://[::1"}, 2, "missing ']'"},
		{[]string{"listen", "http://exa mple.com/"}, 2, "invalid character"},
		{[]string{"listen", "http://"}, 2, "has no host"},
		{[]string{"listen", "http://:8080/sse"}, 2, "has no host"},
		{[]string{"listen", "ws://"}, 2, "has no host"},
		{[]string{"listen", "http://127.0.0.1:70000/sse"}, 2, "port 70000 is out of range"},
		{[]string{"listen", "http://%zz/"}, 2, "invalid URL escape"},
		{[]string{"listen", ""}, 2, "has no scheme"},
		{[]string{"listen", "http://" + dead + "/sse"}, 3, "cannot reach"},
		{[]string{"listen", "ws://" + dead + "/ws"}, 3, "cannot reach"},
		{[]string{"listen", "--mode", "sse", "http://" + dead + "/sse"}, 3, "connection refused"},

		// load
		{[]string{"load"}, 2, "accepts 1 arg(s), received 0"},
		{[]string{"load", "--nope", sse}, 2, "unknown flag: --nope"},
		{[]string{"load", "-c", "-5", sse}, 2, "-c -5"},
		{[]string{"load", "-c", "abc", sse}, 2, `invalid argument "abc"`},
		{[]string{"load", "-c", "100000000", sse}, 2, "pre-flight check failed"},
		{[]string{"load", "--rate", "abc", sse}, 2, "want a rate such as 500/s"},
		{[]string{"load", "--rate", "-5/s", sse}, 2, "want a rate such as 500/s"},
		{[]string{"load", "--rate", "10/fortnight", sse}, 2, "unknown unit"},
		{[]string{"load", "--rate", "10/s", sse}, 2, "--rate is the open model"},
		{[]string{"load", "-d", "5x", sse}, 2, `invalid argument "5x"`},
		{[]string{"load", "-d", "-1s", sse}, 2, "-d -1s"},
		{[]string{"load", "--warmup", "1m", "-d", "10s", sse}, 2, "--warmup"},
		{[]string{"load", "--ramp", "garbage", sse}, 2, "want an arrival rate such as 200/s"},
		{[]string{"load", "--stages", "x", sse}, 2, "want duration:target"},
		{[]string{"load", "--stages", "10s:-1", sse}, 2, "not a whole number"},
		{[]string{"load", "--stages", "0s:0", sse}, 2, "the run would do nothing"},
		{[]string{"load", "--threshold", "p99<", sse}, 2, `--threshold "p99<"`},
		{[]string{"load", "--threshold", "delivery.p99<", sse}, 2, `--threshold "delivery.p99<"`},
		{[]string{"load", "--max-in-flight", "0", "--rate", "5/s", base + "/poll"}, 2, "--max-in-flight"},
		{[]string{"load", "--source-ips", "garbage", sse}, 2, "--source-ips"},
		{[]string{"load", "--ttfb-timeout", "-1s", sse}, 2, "--ttfb-timeout -1s"},
		{[]string{"load", "--idle-timeout", "-1s", sse}, 2, "--idle-timeout -1s"},
		{[]string{"load", "--send-rate", "5000/s", wsURL}, 2, "--send-rate"},
		{[]string{"load", "-H", "nocolon", sse}, 2, `-H "nocolon"`},
		{[]string{"load", "-X", "GET POST", sse}, 2, `-X "GET POST"`},
		{[]string{"load", "--data", "@/nonexistent", sse}, 2, "--data @/nonexistent"},
		{[]string{"load", "--mode", "ai", "--data", "{bad", base + "/v1/chat/completions"}, 2, "not valid JSON"},
		{[]string{"load", "--out", noDir, sse}, 2, "does not exist"},
		{[]string{"load", "--out", dir, sse}, 2, "is a directory"},
		{[]string{"load", "ws://"}, 2, "has no host"},
		{[]string{"load", "ws://127.0.0.1:0/ws"}, 2, "port 0 is out of range"},
		{[]string{"load", "-c", "1", "-d", "1s", "http://" + dead + "/sse"}, 3, "cannot reach"},
		{[]string{"load", "-c", "1", "-d", "1s", "ws://" + dead + "/ws"}, 3, "cannot reach"},
		{[]string{"load", "-c", "1", "-d", "1s", "--mode", "poll", "http://" + dead + "/poll"}, 3, "cannot reach"},

		// report: missing, empty, truncated, foreign and binary files.
		{[]string{"report"}, 2, "requires at least 1 arg(s)"},
		{[]string{"report", "--nope", missing}, 2, "unknown flag: --nope"},
		{[]string{"report", missing}, 2, "no such file"},
		{[]string{"report", empty}, 2, "not an rtbench result"},
		{[]string{"report", truncated}, 2, "not an rtbench result"},
		{[]string{"report", otherKind}, 2, "rtbench.compare/v1"},
		{[]string{"report", noSchema}, 2, `no "schema" field`},
		{[]string{"report", array}, 2, "not a JSON object"},
		{[]string{"report", binary}, 2, "not JSON"},
		{[]string{"report", dir}, 2, "is a directory"},
		{[]string{"report", "--threshold", "x<", noSchema}, 2, `--threshold "x<"`},
		{[]string{"report", "--out", noDir, noSchema}, 2, "does not exist"},
		{[]string{"report", "--html", dir, noSchema}, 2, "is a directory"},

		// compare
		{[]string{"compare", "extra"}, 2, `unknown command "extra"`},
		{[]string{"compare", "-c", "0"}, 2, "-c 0"},
		{[]string{"compare", "--updates", "-1"}, 2, "--updates"},
		{[]string{"compare", "--patterns", "nope"}, 2, `--patterns "nope"`},
		{[]string{"compare", "--target", "ftp://x"}, 2, `--target "ftp://x"`},
		{[]string{"compare", "--target", "http://127.0.0.1:70000"}, 2, "--target"},
		{[]string{"compare", "--html", noDir}, 2, "does not exist"},
		{[]string{"compare", "--target", "http://" + dead, "--patterns", "sse", "-c", "1", "-d", "1s"}, 3, "connection refused"},

		// check
		{[]string{"check"}, 2, "give the URL to check"},
		// HTTP versions: one at a time, and no WebSockets over HTTP/2.
		{[]string{"listen", "--http1.1", "--http2", sse}, 2, "--http1.1 and --http2 cannot be combined"},
		{[]string{"load", "--http2", wsURL}, 2, "WebSockets over HTTP/2 (RFC 8441) are not supported"},
		{[]string{"check", "--http2", "--mode", "ws", sse}, 2, "drop --http2"},
		{[]string{"check", "--http2", "-f", wsYAML}, 2, "--http2 cannot apply to it"},
		{[]string{"load", "--h2-connections", "0", sse}, 2, "--h2-connections 0: want 1 to"},
		{[]string{"check", "--nope", sse}, 2, "unknown flag: --nope"},
		{[]string{"check", "ftp://x"}, 2, `scheme "ftp" is not supported`},
		{[]string{"check", "ws://"}, 2, "has no host"},
		{[]string{"check", "-f", unknown, sse}, 2, "not both"},
		{[]string{"check", "-f", "/nonexistent/checks.yaml"}, 2, "-f /nonexistent/checks.yaml"},
		{[]string{"check", "-f", unknown}, 2, `unknown.yaml:4: unknown key "bogus"`},
		{[]string{"check", "-f", badYAML}, 2, "bad.yaml:1"},
		{[]string{"check", "-f", emptyYAML}, 2, "empty"},
		{[]string{"check", "-f", dir}, 2, "-f " + dir},
		{[]string{"check", "--events", "-1", sse}, 2, "--events -1"},
		{[]string{"check", "--status", "abc", sse}, 2, `--status "abc"`},
		{[]string{"check", "--expect", "==", sse}, 2, "--expect"},
		{[]string{"check", "--threshold", "p99<", sse}, 2, `--threshold "p99<"`},
		{[]string{"check", "--timeout", "-1s", sse}, 2, "--timeout -1s"},
		{[]string{"check", "--junit", noDir, sse}, 2, "does not exist"},
		{[]string{"check", "--mode", "ai", "--data", "{bad", base + "/v1/chat/completions"}, 2, "not valid JSON"},
		{[]string{"check", "http://" + dead + "/sse"}, 3, "cannot reach"},
		{[]string{"check", "ws://" + dead + "/ws"}, 3, "cannot reach"},

		// completion
		{[]string{"completion", "fish2"}, 2, `unknown command "fish2"`},
		{[]string{"completion", "bash", "extra"}, 2, `unknown command "extra"`},
		{[]string{"completion", "--nope"}, 2, "unknown flag: --nope"},

		// version and the hidden gendocs
		{[]string{"version", "extra"}, 2, `unknown command "extra"`},
		{[]string{"version", "--nope"}, 2, "unknown flag: --nope"},
		{[]string{"gendocs"}, 2, "--man"},
		{[]string{"gendocs", "--man", filepath.Join(dir, "man"), "--date", "someday"}, 2, `--date "someday"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			p := procStart(t, tt.args...)
			code := p.wait(t, 30*time.Second)
			stdout, stderr := p.stdout.String(), p.stderr.String()
			if code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			// check prints its FAIL lines, the report, when the target
			// cannot be reached.
			report := tt.args[0] == "check" && code == ExitUnreachable
			if stdout != "" && !report {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			if !strings.HasPrefix(stderr, "rtbench: ") || strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") {
				t.Errorf("stderr %q: want one line starting 'rtbench: '", stderr)
			}
			if !strings.Contains(stderr, tt.mention) {
				t.Errorf("stderr %q: want it to mention %q", stderr, tt.mention)
			}
			procNoTrace(t, stderr)
		})
	}
}
