package client

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rtbench/rtbench/transport"
)

// fitExcerpt is how much of an error answer's body Fit quotes.
const fitExcerpt = 200

// Fit checks that a detected answer is a target of the protocol that
// claimed it, for the commands that then run sessions on it (listen,
// load): polling is for JSON answers, so a 2xx page of another type (an
// HTML page, an image) is not a target, and an answer of 4xx or 5xx is an
// error, whatever its body says. It returns a fatal *transport.Error of one
// line that names the content type or status (with the start of a text
// body) and closes the answer's body, or nil when the answer fits. Only
// answers claimed by a request protocol without a content type of its own
// (polling) are judged: the event-stream rows judge their own answers, and
// a forced --mode is not second-guessed.
func Fit(d *Detected) error {
	if d == nil || d.Opened == nil || d.Protocol.ContentType != "" || !d.Protocol.Requests {
		return nil
	}
	resp := d.Opened.Resp
	url := transport.RedactURL(d.Opened.Connect.URL)
	if url == "" && resp.Request != nil {
		url = transport.RedactURL(resp.Request.URL.String())
	}
	ct := resp.Header.Get("Content-Type")
	code := resp.StatusCode
	switch {
	case code >= 400:
		err := fmt.Errorf("%s: HTTP %d %s%s", url, code, http.StatusText(code), bodyExcerpt(resp))
		return &transport.Error{Class: transport.HTTPStatusClass(code), Code: code, Err: err, At: time.Now(), Fatal: true}
	case code < 200 || code > 299 || ct == "" || isJSON(ct):
		return nil // a 304, a 204, an untyped body: polling judges them
	}
	resp.Body.Close()
	mt, _, _ := mime.ParseMediaType(ct)
	if mt == "" {
		mt = ct
	}
	err := fmt.Errorf("%s answered %s, neither an event stream nor JSON: not a real-time endpoint (to poll it anyway, add --mode poll)", url, oneLine(mt))
	return &transport.Error{Class: transport.ClassBadContentType, Err: err, At: time.Now(), Fatal: true}
}

// isJSON reports whether a media type is JSON (application/json, a +json
// type, NDJSON).
func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json") || mt == "application/x-ndjson" || mt == "text/json"
}

// bodyExcerpt reads the start of a text or JSON body, as ": text" on one
// line ("" for another type or an empty body), and closes the body.
func bodyExcerpt(resp *http.Response) string {
	defer resp.Body.Close()
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if !strings.HasPrefix(mt, "text/") && !isJSON(mt) && mt != "" {
		return ""
	}
	stop := time.AfterFunc(time.Second, func() { resp.Body.Close() })
	defer stop.Stop()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, fitExcerpt+1))
	more := len(b) > fitExcerpt
	if more {
		b = b[:fitExcerpt]
		for len(b) > 0 && !utf8.Valid(b) {
			b = b[:len(b)-1]
		}
	}
	text := oneLine(strings.ToValidUTF8(string(b), "\uFFFD"))
	if text == "" {
		return ""
	}
	if more {
		text += "…"
	}
	return ": " + text
}

// oneLine folds runs of white space (newlines included) into one space and
// drops other control characters, so a server's text cannot break the line
// or reach a terminal as an escape.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' && r != '\t' && r != '\n' && r != '\r' || r == 0x7f {
			return -1
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}
