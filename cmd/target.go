package cmd

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/client"
)

// Defaults of the session flags.
const (
	defaultMaxEvent  = 1 << 20
	listenMaxEvent   = 16 << 20 // listen's one connection affords more than load's sessions
	defaultReadLimit = 1 << 20
	defaultPingWait  = 10 * time.Second
	defaultInterval  = 2 * time.Second
)

// SessionFlags are the flags of every command that opens sessions to a URL
// (listen, load, check): what to send, how to trust, reconnect and time out,
// and each protocol's knobs. They are declared once (addSessionFlags), with
// one help text each, and validated in one fixed order (validate), so a
// flag means the same in every command and a command line with several
// mistakes always names the same one first.
type SessionFlags struct {
	URL        string
	Mode       string // "": detect; else a protocol of the table
	AIFormat   string // --ai-format: "": detect; else a transport.AIFormats name (implies --mode ai)
	Method     string
	Headers    []string
	Data       string   // body, or @file
	Send       []string // --send: messages sent first on every connection, or @file
	Insecure   bool
	CACert     string
	Reconnect  string
	Stamp      string   // --stamp (listen, load)
	Compressed bool     // --compressed (listen, load): ask for gzip
	Proxy      string   // --proxy URL
	Cookies    []string // --cookie 'NAME=VALUE; …'

	IdleTimeout  time.Duration
	TTFBTimeout  time.Duration
	MaxEvent     int
	ReadLimit    int64
	Subprotocols []string
	PingInterval time.Duration
	PingTimeout  time.Duration
	Interval     time.Duration
	LongPoll     time.Duration
	HTTP1        bool // --http1.1
	HTTP2        bool // --http2
	// PublishRate is --publish-rate (load, check; addPublishFlag).
	PublishRate rateValue

	Body   []byte // Data resolved
	header http.Header
	policy transport.Policy
	roots  *x509.CertPool
	proto  *transport.Protocol // --mode's, nil: detect
	misuse *misusedFlag
	stamp  *transport.StampSpec
	send   *transport.Sender // --send rendered for session 0; ForSession for the others
	proxy  *url.URL
	getenv func(string) string
	// version is the HTTP version --http1.1 and --http2 ask for.
	version transport.HTTPVersion
	// closedLoop allows --interval 0: polling as fast as the server
	// answers (load).
	closedLoop bool
}

// addStampFlag adds --stamp, for the commands that measure delivery
// (listen, load).
func (t *SessionFlags) addStampFlag(f *pflag.FlagSet) {
	f.StringVar(&t.Stamp, "stamp", "", "the payload field delivery latency is measured from, PATH[:s|ms|us|ns|rfc3339] (data.meta.ts:ms), or none; default sched_ns, else ts, time, timestamp, sent_at or created_at")
}

// addCompressedFlag adds --compressed, for the commands that do not ask
// for gzip already (listen, load; check always asks, as browsers do).
func (t *SessionFlags) addCompressedFlag(f *pflag.FlagSet) {
	f.BoolVar(&t.Compressed, "compressed", false, "HTTP: ask for gzip (Accept-Encoding: gzip) as browsers and curl --compressed do, and read it decoded; a compressed event stream is warned about (compressed)")
}

// addSessionFlags adds the session flags; reconnect is the --reconnect
// default (check's is never: one session is one connection).
func (t *SessionFlags) addSessionFlags(f *pflag.FlagSet, reconnect string) {
	f.StringVar(&t.Mode, "mode", "", "force the protocol: "+client.Names()+" (default: detect)")
	f.StringVar(&t.AIFormat, "ai-format", "", "force the AI stream format (implies --mode ai): "+transport.AIFormatNames()+" (default: detect)")
	f.StringVarP(&t.Method, "request", "X", "", "HTTP method (default GET, or POST with a body)")
	f.StringArrayVarP(&t.Headers, "header", "H", nil, "request header 'Name: value' (repeatable)")
	f.StringVar(&t.Data, "data", "", "request body, or @file to read it from a file")
	f.StringArrayVar(&t.Send, "send", nil, "send this message first on every connection (repeatable, in order; @file reads it): WebSocket messages once open, the first lines of an HTTP body; templates {{session}} {{seq}} {{now_ns}} {{uuid}} {{env \"NAME\"}}")
	f.StringArrayVar(&t.Cookies, "cookie", nil, "send cookies, 'NAME=VALUE; NAME2=VALUE2' (repeatable), as curl --cookie does")
	f.StringVar(&t.Proxy, "proxy", "", "send every request through this proxy (http://, https:// or socks5://HOST:PORT); default: the environment's HTTPS_PROXY, HTTP_PROXY and NO_PROXY")
	f.BoolVar(&t.Insecure, "insecure", false, "skip TLS certificate verification (never implied)")
	f.StringVar(&t.CACert, "cacert", "", "PEM file of extra CA certificates to trust")
	f.StringVar(&t.Reconnect, "reconnect", reconnect, "when to reconnect: spec, always (also after 429/5xx and any WebSocket close) or never")
	f.DurationVar(&t.IdleTimeout, "idle-timeout", 0, "treat a stream or WebSocket silent for this long (no event, comment, message or pong) as broken (idle_timeout)")
	f.DurationVar(&t.TTFBTimeout, "ttfb-timeout", transport.DefaultTTFBTimeout, "longest wait for response headers (ttfb_timeout)")
	f.IntVar(&t.MaxEvent, "max-event", defaultMaxEvent, "SSE/AI: largest line and event in bytes")
	f.Int64Var(&t.ReadLimit, "read-limit", defaultReadLimit, "WebSocket: largest message in bytes (bigger closes with 1009)")
	f.StringArrayVar(&t.Subprotocols, "subprotocol", nil, "WebSocket subprotocol to offer (repeatable)")
	f.DurationVar(&t.PingInterval, "ping-interval", 0, "WebSocket: send a ping this often and record its round trip (0 = off)")
	f.DurationVar(&t.PingTimeout, "ping-timeout", defaultPingWait, "WebSocket: wait this long for each pong; two missed in a row are ping_timeout")
	f.DurationVar(&t.Interval, "interval", defaultInterval, "polling: time between one session's requests")
	f.DurationVar(&t.LongPoll, "long-poll", 0, "polling: long-poll, asking the server to hold each request this long (?wait=)")
	f.BoolVar(&t.HTTP1, "http1.1", false, "speak HTTP/1.1 only (default: HTTP/2 or HTTP/1.1 over TLS as the server's ALPN answer picks, HTTP/1.1 to http://)")
	f.BoolVar(&t.HTTP2, "http2", false, "speak HTTP/2 only: h2 over TLS, h2c with prior knowledge to http:// (no WebSockets: RFC 8441 is not supported)")
}

// httpVersion checks --http1.1 and --http2 against each other and the URL.
func (t *SessionFlags) httpVersion(ws bool) error {
	switch {
	case t.HTTP1 && t.HTTP2:
		return UsageError("--http1.1 and --http2 cannot be combined: give one, or neither to let TLS (ALPN) pick")
	case t.HTTP2 && ws:
		return UsageError("--http2 with the WebSocket URL %s: WebSockets over HTTP/2 (RFC 8441) are not supported; rtbench opens WebSockets with HTTP/1.1's Upgrade, so drop --http2", t.URL)
	case t.HTTP1:
		t.version = transport.HTTP1
	case t.HTTP2:
		t.version = transport.HTTP2
	}
	return nil
}

// addNoShortData makes -d, in a command without a duration (listen, check),
// a one-line usage error naming --data: -d is --duration wherever rtbench
// has one (load, compare).
func (t *SessionFlags) addNoShortData(f *pflag.FlagSet) {
	t.misuse = &misusedFlag{msg: "-d is the duration (--duration) in rtbench; give the request body with --data"}
	f.VarP(t.misuse, "d-for-data", "d", "")
	f.MarkHidden("d-for-data")
}

// misusedFlag is a hidden flag that only says which flag was meant.
type misusedFlag struct {
	msg string
	set bool
}

func (m *misusedFlag) String() string   { return "" }
func (m *misusedFlag) Type() string     { return "string" }
func (m *misusedFlag) Set(string) error { m.set = true; return nil }

// validate checks the session flags in their one order and resolves them.
func (t *SessionFlags) validate() error {
	if t.misuse != nil && t.misuse.set {
		return UsageError("%s", t.misuse.msg)
	}
	proto, err := client.Scheme(t.URL)
	if err != nil {
		return UsageError("%v", err)
	}
	if err := checkHostPort(t.URL); err != nil {
		return UsageError("%v", err)
	}
	if err := t.httpVersion(proto != nil && proto.Pattern == transport.WS || t.Mode == "ws"); err != nil {
		return err
	}
	if t.AIFormat != "" {
		if transport.LookupAIFormat(t.AIFormat) == nil {
			return UsageError("--ai-format %q: want %s", t.AIFormat, transport.AIFormatNames())
		}
		if t.Mode != "" && t.Mode != "ai" {
			return UsageError("--ai-format %s with --mode %s: an AI format needs --mode ai (or no --mode)", t.AIFormat, t.Mode)
		}
		t.Mode = "ai"
	}
	if t.Mode != "" {
		if t.proto = client.Lookup(t.Mode); t.proto == nil {
			return UsageError("--mode %q: want %s", t.Mode, client.Names())
		}
		if proto != nil && proto != t.proto {
			return UsageError("--mode %s with the %s URL %s: use an http(s) URL, or --mode %s", t.Mode, proto.Name, t.URL, proto.Name)
		}
	}
	if t.Method != "" && !isToken(t.Method) {
		return UsageError("-X %q: want an HTTP method such as GET or POST", t.Method)
	}
	if t.stamp, err = transport.ParseStampSpec(t.Stamp); err != nil {
		return UsageError("%v", err)
	}
	var ok bool
	if t.policy, ok = transport.ParsePolicy(t.Reconnect); !ok {
		return UsageError("--reconnect %q: want spec, always or never", t.Reconnect)
	}
	t.header = http.Header{}
	if err := addHeaders(t.header, "-H", t.Headers); err != nil {
		return err
	}
	for _, c := range t.Cookies {
		for pair := range strings.SplitSeq(c, ";") {
			name, _, ok := strings.Cut(strings.TrimSpace(pair), "=")
			if !ok || !isToken(name) || strings.ContainsFunc(pair, func(r rune) bool { return r < ' ' || r == 0x7f }) {
				return UsageError("--cookie %q: want 'NAME=VALUE', several separated by '; '", c)
			}
		}
		if prev := t.header.Get("Cookie"); prev != "" {
			c = prev + "; " + strings.TrimSpace(c)
		}
		t.header.Set("Cookie", strings.TrimSpace(c))
	}
	if t.Proxy != "" {
		u, err := url.Parse(t.Proxy)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "socks5") {
			return UsageError("--proxy %q: want http://HOST:PORT (or https://, socks5://)", transport.RedactURL(t.Proxy))
		}
		t.proxy = u
	}
	if t.Compressed && t.header.Get("Accept-Encoding") == "" {
		t.header.Set("Accept-Encoding", "gzip")
	}
	if t.Data != "" {
		if file, ok := strings.CutPrefix(t.Data, "@"); ok {
			b, err := os.ReadFile(file)
			if err != nil {
				return UsageError("--data @%s: %v", file, errors.Unwrap(err))
			}
			t.Body = b
		} else {
			t.Body = []byte(t.Data)
		}
		if t.Mode == "ai" && !json.Valid(t.Body) {
			return UsageError("--data: the body is not valid JSON; an AI stream takes a JSON request such as '{\"model\":\"m\",\"stream\":true,\"messages\":[...]}'")
		}
	}
	if t.send, err = parseSend(t.Send, t.getenv); err != nil {
		return err
	}
	if t.roots, err = loadCACert(t.CACert); err != nil {
		return err
	}
	return t.validateKnobs()
}

// parseSend reads the --send messages (@file: the file's contents, one
// trailing newline dropped) and parses their templates.
func parseSend(send []string, getenv func(string) string) (*transport.Sender, error) {
	lookup := func(name string) (string, bool) {
		if getenv == nil {
			getenv = os.Getenv
		}
		v := getenv(name)
		return v, v != ""
	}
	var ts []*transport.SendTemplate
	for _, s := range send {
		text, flag := s, "--send"
		if file, ok := strings.CutPrefix(s, "@"); ok {
			b, err := os.ReadFile(file)
			if err != nil {
				return nil, UsageError("--send @%s: %v", file, errors.Unwrap(err))
			}
			text, flag = string(b), "--send @"+file
			text = strings.TrimSuffix(strings.TrimSuffix(text, "\n"), "\r")
		}
		tpl, err := transport.ParseSendTemplate(text, lookup)
		if err != nil {
			return nil, UsageError("%s: %v", flag, err)
		}
		ts = append(ts, tpl)
	}
	return transport.NewSender(ts, 0), nil
}

// addHeaders adds the 'Name: value' headers of a flag (-H, --job-header)
// to h, or names the one that is not a header.
func addHeaders(h http.Header, flag string, vals []string) error {
	for _, v := range vals {
		name, value, ok := strings.Cut(v, ":")
		name = strings.TrimSpace(name)
		if !ok || !isToken(name) {
			return UsageError("%s %q: want 'Name: value'", flag, v)
		}
		if strings.ContainsFunc(value, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
			return UsageError("%s %q: the value holds a control character (a newline?); give one line per header", flag, v)
		}
		h.Add(name, strings.TrimSpace(value))
	}
	return nil
}

// validateKnobs checks the timeouts, limits and intervals, in a fixed order.
func (t *SessionFlags) validateKnobs() error {
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"--idle-timeout", t.IdleTimeout}, {"--ttfb-timeout", t.TTFBTimeout}, {"--ping-interval", t.PingInterval}, {"--ping-timeout", t.PingTimeout}, {"--long-poll", t.LongPoll}} {
		if d.v < 0 {
			return UsageError("%s %v: want 0 (the default) or a positive duration", d.flag, d.v)
		}
	}
	switch {
	case t.Interval < 0 || t.Interval == 0 && !t.closedLoop:
		if t.closedLoop {
			return UsageError("--interval %v: want a positive duration, or 0 to poll as fast as the server answers", t.Interval)
		}
		return UsageError("--interval %v: want a positive duration such as 2s", t.Interval)
	case t.MaxEvent < 64:
		return UsageError("--max-event %d: want at least 64 bytes", t.MaxEvent)
	case t.ReadLimit < 1:
		return UsageError("--read-limit %d: want at least 1 byte", t.ReadLimit)
	}
	return nil
}

// loadCACert reads the --cacert file into a pool of the system's roots and
// its certificates; "" is nil (the system's).
func loadCACert(path string) (*x509.CertPool, error) {
	if path == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, UsageError("--cacert %s: %v", path, errors.Unwrap(err))
	}
	roots, _ := x509.SystemCertPool()
	if roots == nil {
		roots = x509.NewCertPool()
	}
	if !roots.AppendCertsFromPEM(pem) {
		return nil, UsageError("--cacert %s: no PEM certificate found in it", path)
	}
	return roots, nil
}

// checkHostPort checks what url.Parse lets through: a URL needs a host, and
// a port, when it has one, from 1 to 65535.
func checkHostPort(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("URL %q: %v", raw, err)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("URL %q has no host: write it as %s://HOST[:PORT]/PATH", raw, u.Scheme)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("URL %q: port %s is out of range; want 1 to 65535", raw, p)
		}
	}
	return nil
}

// isToken reports whether s is an HTTP token (RFC 9110 §5.6.2), as a method
// or a header name must be.
func isToken(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return r >= 0x7f || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r)
	})
}

// request is what every session sends.
func (t *SessionFlags) request() transport.Request {
	return transport.Request{URL: t.URL, Method: t.Method, Header: t.header, Body: t.Body, Send: t.send}
}

// httpOptions are the HTTP client's options the flags set.
func (t *SessionFlags) httpOptions() transport.HTTPOptions {
	o := transport.HTTPOptions{Insecure: t.Insecure, RootCAs: t.roots, TTFBTimeout: t.TTFBTimeout, Version: t.version}
	if t.proxy != nil {
		o.Proxy = http.ProxyURL(t.proxy)
	}
	return o
}

// sessionOptions are the options of every session the flags describe; the
// command adds its own (HTTP client, First, Outbox …).
func (t *SessionFlags) sessionOptions() transport.SessionOptions {
	return transport.SessionOptions{
		Request:      t.request(),
		Reconnect:    transport.Reconnect{Policy: t.policy},
		IdleTimeout:  t.IdleTimeout,
		TTFBTimeout:  t.TTFBTimeout,
		MaxEvent:     t.MaxEvent,
		AIFormat:     t.AIFormat,
		Subprotocols: t.Subprotocols,
		ReadLimit:    t.ReadLimit,
		PingInterval: t.PingInterval,
		PingTimeout:  t.PingTimeout,
		Interval:     t.Interval,
		ClosedLoop:   t.closedLoop && t.Interval == 0,
		LongPoll:     t.LongPoll,
		Stamp:        t.stamp,
	}
}
