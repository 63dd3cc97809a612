package poll

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/rtbench/rtbench/transport"
)

const contentTypeJSON = "application/json"

// maxPooled is the largest response buffer kept for reuse: a /poll payload of
// transport.MaxPayload bytes fits, a rare huge message page does not.
const maxPooled = 2 * transport.MaxPayload

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) > maxPooled {
		return
	}
	*b = (*b)[:0]
	bufPool.Put(b)
}

// state is what a conditional response describes: its entity tag (without
// quotes) and, when known, its modification time in Unix ns.
type state struct {
	etag    []byte
	lastMod int64 // 0: none
}

func (h *Handler) setValidators(hdr http.Header, st state) {
	hdr.Set("Cache-Control", "no-cache")
	var b [64]byte // every tag here fits: a seq or "<status>-<progress>"
	tag := append(b[:0], '"')
	tag = append(tag, st.etag...)
	tag = append(tag, '"')
	hdr.Set("ETag", string(tag))
	if st.lastMod != 0 {
		hdr.Set("Last-Modified", time.Unix(0, st.lastMod).UTC().Format(http.TimeFormat))
	}
}

// writeJSON answers status with body, the validators of st and the write
// deadline, and counts the response.
func (h *Handler) writeJSON(w http.ResponseWriter, status int, st state, body []byte) {
	hdr := w.Header()
	h.setValidators(hdr, st)
	hdr.Set("Content-Type", contentTypeJSON)
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	h.send(w, status, body)
}

// notModified answers 304 with the validators of st.
func (h *Handler) notModified(w http.ResponseWriter, st state) {
	h.setValidators(w.Header(), st)
	h.send(w, http.StatusNotModified, nil)
}

// writeError answers status with {"error":msg}.
func (h *Handler) writeError(w http.ResponseWriter, status int, msg string) {
	body, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg})
	hdr := w.Header()
	hdr.Del("ETag")
	hdr.Del("Last-Modified")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Content-Type", contentTypeJSON)
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	h.send(w, status, body)
}

// canceled answers a long poll whose request context ended: the client left
// (nobody reads this) or the server is shutting down.
func (h *Handler) canceled(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	h.writeError(w, http.StatusServiceUnavailable, "request ended while waiting: the client went away or the server is shutting down; retry")
}

// allow answers 405 unless r's method is one of methods (GET includes HEAD).
func (h *Handler) allow(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method || (method == http.MethodGet && r.Method == http.MethodHead) {
		return true
	}
	w.Header().Set("Allow", method)
	h.writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed; use "+method)
	return false
}

func (h *Handler) send(w http.ResponseWriter, status int, body []byte) {
	rc := http.NewResponseController(w)
	if err := rc.SetWriteDeadline(time.Now().Add(h.writeTimeout())); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return // the connection is gone
	}
	w.WriteHeader(status)
	if len(body) > 0 {
		w.Write(body) //nolint:errcheck // a failed write is the client's loss; nothing to retry
	}
	h.Stats.Sent(transport.Poll, len(body))
}

// matchETag reports whether an If-None-Match header (all its values) matches
// the entity tag tag (unquoted), by the weak comparison RFC 9110 §13.1.2
// prescribes: W/"5" matches "5", and * matches anything.
func matchETag(values []string, tag []byte) bool {
	for _, v := range values {
		for i := 0; i < len(v); {
			t, next, ok := nextETag(v, i)
			if !ok {
				break
			}
			if t == "*" || t == string(tag) {
				return true
			}
			i = next
		}
	}
	return false
}

// hasETag reports whether an If-None-Match header holds an entity tag (or
// *): an empty or malformed header is no condition at all.
func hasETag(values []string) bool {
	for _, v := range values {
		if _, _, ok := nextETag(v, 0); ok {
			return true
		}
	}
	return false
}

// knownSeq returns the sequence number a client holds according to its
// If-None-Match header: the first entity tag that is a decimal number.
func knownSeq(values []string) (uint64, bool) {
	for _, v := range values {
		for i := 0; i < len(v); {
			t, next, ok := nextETag(v, i)
			if !ok {
				break
			}
			if n, err := strconv.ParseUint(t, 10, 64); err == nil {
				return n, true
			}
			i = next
		}
	}
	return 0, false
}

// nextETag scans the entity tag that starts at or after v[i] (skipping
// blanks and commas) and returns its opaque part without quotes or W/, or
// "*". ok is false at the end or on malformed input.
func nextETag(v string, i int) (tag string, next int, ok bool) {
	for i < len(v) && (v[i] == ' ' || v[i] == '\t' || v[i] == ',') {
		i++
	}
	if i == len(v) {
		return "", i, false
	}
	if v[i] == '*' {
		return "*", i + 1, true
	}
	if len(v)-i >= 2 && v[i] == 'W' && v[i+1] == '/' {
		i += 2
	}
	if i == len(v) || v[i] != '"' {
		return "", i, false
	}
	for j := i + 1; j < len(v); j++ {
		if v[j] == '"' {
			return v[i+1 : j], j + 1, true
		}
	}
	return "", len(v), false
}
