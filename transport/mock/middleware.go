package mock

import (
	"encoding/json"
	"io"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/rtbench/rtbench/transport"
)

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encoding the response failed"}`)
	}
	b = append(b, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
	return len(b)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// bodyDeadline bounds the reading of a request body: the connection's read
// deadline is set to timeout from the first byte of the handler, and taken
// away again once the body is read to its end (or closed), so a response
// streamed after it (an AI stream answering a POST) is not cut when the
// deadline passes. Without it, a client that sends its headers in time and
// then trickles the body would hold its handler for ever: http.Server has
// no ReadTimeout here, since that would end every stream.
type bodyDeadline struct {
	timeout time.Duration
	next    http.Handler
}

func (b bodyDeadline) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		b.next.ServeHTTP(w, r)
		return
	}
	rc := http.NewResponseController(w)
	if rc.SetReadDeadline(time.Now().Add(b.timeout)) == nil {
		r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
	}
	b.next.ServeHTTP(w, r)
}

// deadlineBody clears the connection's read deadline at the body's end.
type deadlineBody struct {
	io.ReadCloser
	rc      *http.ResponseController
	cleared bool
}

func (d *deadlineBody) Read(p []byte) (int, error) {
	n, err := d.ReadCloser.Read(p)
	if err == io.EOF {
		d.clear()
	}
	return n, err
}

func (d *deadlineBody) Close() error {
	d.clear()
	return d.ReadCloser.Close()
}

func (d *deadlineBody) clear() {
	if !d.cleared {
		d.cleared = true
		d.rc.SetReadDeadline(time.Time{})
	}
}

// cors lets pages served from other origins use every endpoint. With no
// patterns any origin is allowed (Access-Control-Allow-Origin: *); otherwise
// only origins whose host matches one of the patterns (path.Match syntax,
// like coder/websocket's OriginPatterns) get CORS headers, and their
// preflights are refused with 403.
type cors struct {
	patterns []string
	next     http.Handler
}

func (c cors) allowed(origin string) bool {
	if len(c.patterns) == 0 {
		return true
	}
	host := origin
	if i := strings.Index(host, "://"); i >= 0 {
		host = host[i+3:]
	}
	for _, p := range c.patterns {
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(host)); ok {
			return true
		}
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(origin)); ok {
			return true
		}
	}
	return false
}

func (c cors) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
	if origin == "" {
		if preflight {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		c.next.ServeHTTP(w, r)
		return
	}
	h := w.Header()
	if !c.allowed(origin) {
		if preflight {
			writeError(w, http.StatusForbidden, "origin "+origin+" is not allowed; start serve with --origins to allow it")
			return
		}
		c.next.ServeHTTP(w, r)
		return
	}
	if len(c.patterns) == 0 {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
	}
	h.Set("Access-Control-Expose-Headers", "ETag, Last-Modified, Location, Retry-After")
	if preflight {
		h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
			h.Set("Access-Control-Allow-Headers", req)
		}
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	c.next.ServeHTTP(w, r)
}

// limit answers 503 with Retry-After to every request but health and
// metrics on a reserve connection, one accepted past --max-conns (see
// capListener), so an overloaded mock says so while it can still be
// watched.
type limit struct {
	stats *transport.ServerStats
	next  http.Handler
}

func (l *limit) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if onReserve(r) && r.URL.Path != "/healthz" && r.URL.Path != "/metrics" {
		l.stats.Rejected()
		w.Header().Set("Retry-After", "1")
		w.Header().Set("Connection", "close")
		writeError(w, http.StatusServiceUnavailable, "connection limit reached; retry later or start serve with a higher --max-conns")
		return
	}
	l.next.ServeHTTP(w, r)
}
