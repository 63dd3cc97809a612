package ably

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/pubsub"
)

// Defaults for Handler.
const (
	DefaultMaxIdleInterval = 15 * time.Second
	DefaultWriteTimeout    = 10 * time.Second
	// MaxMessageSize is the bytes of data one message may carry (Ably's
	// default account limit, and the hub's).
	MaxMessageSize = 64 << 10
	// MaxChannelsPerConnection bounds the channels one realtime connection
	// may attach (each holds a subscription and a goroutine): 90010 past it.
	MaxChannelsPerConnection = 200
	maxBody                  = 1 << 20
)

// Handler serves Ably's realtime protocol (a WebSocket at /) and the REST
// routes the SDKs use, on the mock server's hub: see Register and the
// package doc.
type Handler struct {
	Hub   *pubsub.Hub
	Stats *transport.ServerStats // may be nil
	// Keys are the API keys accepted; empty: DefaultKey only.
	Keys []Key
	// OriginPatterns restrict the pages allowed to open the WebSocket
	// (coder/websocket's AcceptOptions); empty accepts any origin.
	OriginPatterns  []string
	WriteTimeout    time.Duration // one frame written; default DefaultWriteTimeout
	MaxIdleInterval time.Duration // heartbeat promise in CONNECTED; default DefaultMaxIdleInterval
	// Instance names the hub in channel serials ("<instance>:<seq>");
	// default random. Handlers sharing one hub across processes (serve
	// --procs) share it, so a serial from one resumes in another.
	Instance string

	now  func() time.Time
	once sync.Once
	kr   *keyring
	// instance names this handler's hub in channel serials.
	instance string
	frames   frameCache
}

func (h *Handler) init() {
	h.once.Do(func() {
		if h.now == nil {
			h.now = time.Now
		}
		keys := h.Keys
		if len(keys) == 0 {
			k, _ := ParseKey(DefaultKey)
			keys = []Key{k}
		}
		h.kr = &keyring{keys: keys, now: h.now}
		h.instance = h.Instance
		if h.instance == "" {
			h.instance = randomID(4)
		}
	})
}

// Register adds the REST routes to mux. The realtime endpoint is GET / with
// a WebSocket upgrade, which the mock's index page shares: see Root.
func (h *Handler) Register(mux *http.ServeMux) {
	h.init()
	mux.HandleFunc("GET /time", h.time)
	mux.HandleFunc("POST /channels/{channel}/messages", h.publish)
	mux.HandleFunc("GET /channels/{channel}/messages", h.history)
	mux.HandleFunc("POST /keys/{keyName}/requestToken", h.requestToken)
}

// Root serves GET /: a WebSocket upgrade is an Ably realtime connection,
// anything else goes to next (the index page).
func (h *Handler) Root(next http.Handler) http.Handler {
	h.init()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" && headerHasToken(r.Header, "Upgrade", "websocket") {
			h.serveRealtime(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// responseFormat is what the client accepts: MessagePack when it asks for
// it, else JSON.
func responseFormat(r *http.Request) Format {
	if strings.Contains(r.Header.Get("Accept"), "application/x-msgpack") || r.URL.Query().Get("format") == "msgpack" {
		return MsgPack
	}
	return JSON
}

func requestFormat(r *http.Request) (Format, error) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return JSON, nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	switch {
	case err != nil:
	case mt == "application/json":
		return JSON, nil
	case mt == "application/x-msgpack" || mt == "application/msgpack":
		return MsgPack, nil
	}
	return JSON, fmt.Errorf("Content-Type %q: send application/json or application/x-msgpack", ct)
}

// writeREST answers v in the client's format.
func writeREST(w http.ResponseWriter, r *http.Request, status int, v any) {
	f := responseFormat(r)
	b, err := Marshal(v, f)
	if err != nil {
		status, f = http.StatusInternalServerError, JSON
		b, _ = Marshal(map[string]any{"error": &ErrorInfo{Code: 50000, StatusCode: 500, Message: err.Error()}}, JSON)
	}
	w.Header().Set("Content-Type", f.ContentType())
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
}

// writeErr answers an Ably error: its status, {"error":{...}} and the
// X-Ably-Errorcode headers the SDKs read when the body cannot be.
func writeErr(w http.ResponseWriter, r *http.Request, e *ErrorInfo) {
	w.Header().Set("X-Ably-Errorcode", strconv.Itoa(e.Code))
	w.Header().Set("X-Ably-Errormessage", e.Message)
	writeREST(w, r, e.StatusCode, map[string]any{"error": e})
}

// authREST authenticates a REST request: Basic with a key, Bearer with a
// token (base64 of it, as the SDKs send it, or the token itself).
func (h *Handler) authREST(r *http.Request) (*Principal, *ErrorInfo) {
	auth := r.Header.Get("Authorization")
	scheme, cred, _ := strings.Cut(auth, " ")
	switch strings.ToLower(scheme) {
	case "basic":
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
		if err != nil {
			return nil, errInvalidCredentials("the Basic authorization is not base64")
		}
		return h.kr.checkKey(string(b))
	case "bearer":
		cred = strings.TrimSpace(cred)
		if b, err := base64.StdEncoding.DecodeString(cred); err == nil && strings.HasPrefix(string(b), tokenPrefix) {
			cred = string(b)
		}
		return h.kr.checkToken(cred)
	}
	if k := r.URL.Query().Get("key"); k != "" {
		return h.kr.checkKey(k)
	}
	return nil, &ErrorInfo{Code: 40101, StatusCode: 401, Message: "no credentials: send Authorization: Basic base64(key) or Bearer base64(token)"}
}

func (h *Handler) time(w http.ResponseWriter, r *http.Request) {
	writeREST(w, r, http.StatusOK, []int64{h.now().UnixMilli()})
}

// readBody reads a request body of at most maxBody bytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, *ErrorInfo) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, &ErrorInfo{Code: 40009, StatusCode: 413, Message: fmt.Sprintf("body larger than %d bytes", maxBody)}
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil, &ErrorInfo{Code: 40000, StatusCode: 408, Message: "the request body did not arrive in time"}
	case err != nil:
		return nil, &ErrorInfo{Code: 40000, StatusCode: 400, Message: "reading the body: " + err.Error()}
	}
	return b, nil
}

// decodeMessages reads one message or an array of them.
func decodeMessages(b []byte, f Format) ([]*Message, error) {
	t := bytes.TrimSpace(b)
	array := false
	if f == JSON {
		array = len(t) > 0 && t[0] == '['
	} else if len(t) > 0 {
		c := t[0]
		array = c >= 0x90 && c <= 0x9f || c == 0xdc || c == 0xdd
	}
	if array {
		var ms []*Message
		if err := unmarshal(b, f, &ms); err != nil {
			return nil, err
		}
		return ms, nil
	}
	m := new(Message)
	if err := unmarshal(b, f, m); err != nil {
		return nil, err
	}
	return []*Message{m}, nil
}

type publishResponse struct {
	Channel   string   `json:"channel" msgpack:"channel"`
	MessageID string   `json:"messageId" msgpack:"messageId"`
	Serials   []string `json:"serials" msgpack:"serials"`
}

// publish serves POST /channels/{channel}/messages.
func (h *Handler) publish(w http.ResponseWriter, r *http.Request) {
	channel := r.PathValue("channel")
	p, e := h.authREST(r)
	if e != nil {
		writeErr(w, r, e)
		return
	}
	f, err := requestFormat(r)
	if err != nil {
		writeErr(w, r, &ErrorInfo{Code: 40001, StatusCode: 415, Message: err.Error()})
		return
	}
	body, e := readBody(w, r)
	if e != nil {
		writeErr(w, r, e)
		return
	}
	msgs, err := decodeMessages(body, f)
	if err != nil || len(msgs) == 0 {
		msg := "no messages in the body"
		if err != nil {
			msg = err.Error()
		}
		writeErr(w, r, &ErrorInfo{Code: 40001, StatusCode: 400, Message: "invalid request body: " + msg})
		return
	}
	base := randomID(9)
	res := publishResponse{Channel: channel}
	serials, e := h.publishAll(p, channel, msgs, "", func(i int) string { return base + ":" + strconv.Itoa(i) }, 0)
	if e != nil {
		writeErr(w, r, e)
		return
	}
	res.MessageID, res.Serials = msgs[0].ID, serials
	writeREST(w, r, http.StatusCreated, res)
}

// publishAll checks every message, then publishes them all to channel in
// order, returning their channel serials. connID and from are the
// publishing connection's (empty and 0 over REST); id gives the i-th
// message's id when it has none.
func (h *Handler) publishAll(p *Principal, channel string, msgs []*Message, connID string, id func(int) string, from uint64) ([]string, *ErrorInfo) {
	if !pubsub.ValidChannel(channel) {
		return nil, errBadChannel(channel)
	}
	if !p.Capability.Allows(channel, "publish") {
		return nil, errNotPermitted("publish", channel)
	}
	encoded := make([][]byte, len(msgs))
	for i, m := range msgs {
		if m == nil {
			return nil, &ErrorInfo{Code: 40013, StatusCode: 400, Message: fmt.Sprintf("message %d is null", i)}
		}
		if err := m.normalise(); err != nil {
			return nil, &ErrorInfo{Code: 40013, StatusCode: 400, Message: fmt.Sprintf("message %d: invalid message data or encoding: %v", i, err)}
		}
		if len(m.Data.B) > MaxMessageSize {
			return nil, &ErrorInfo{Code: 40009, StatusCode: 400, Message: fmt.Sprintf("message %d: data of %d bytes, more than the %d allowed", i, len(m.Data.B), MaxMessageSize)}
		}
		switch {
		case m.ClientID == "":
			m.ClientID = p.ClientID
		case p.ClientID != "" && p.ClientID != "*" && m.ClientID != p.ClientID:
			return nil, &ErrorInfo{Code: 40012, StatusCode: 400, Message: fmt.Sprintf("message %d: clientId %q is not the connection's %q", i, m.ClientID, p.ClientID)}
		}
		if m.ID == "" {
			m.ID = id(i)
		}
		m.ConnectionID = connID
		b, err := toHub(m)
		if err != nil {
			return nil, &ErrorInfo{Code: 40013, StatusCode: 400, Message: fmt.Sprintf("message %d: %v", i, err)}
		}
		encoded[i] = b
	}
	serials := make([]string, len(msgs))
	for i, b := range encoded {
		hm, _, err := h.Hub.Publish(channel, b, from)
		if err != nil {
			return serials[:i], hubError(channel, err)
		}
		h.Stats.Published()
		serials[i] = channelSerial(h.instance, hm.Seq)
	}
	return serials, nil
}

func errBadChannel(channel string) *ErrorInfo {
	return &ErrorInfo{Code: 40010, StatusCode: 400, Message: fmt.Sprintf("invalid channel name %q: rtbench serve takes %v", channel, pubsub.ErrBadChannel)}
}

func hubError(channel string, err error) *ErrorInfo {
	switch {
	case errors.Is(err, pubsub.ErrBadChannel):
		return errBadChannel(channel)
	case errors.Is(err, pubsub.ErrTooLarge):
		return &ErrorInfo{Code: 40009, StatusCode: 400, Message: "maximum message length exceeded: " + err.Error()}
	case errors.Is(err, pubsub.ErrTooManyChannels):
		return &ErrorInfo{Code: 90010, StatusCode: 503, Message: "rtbench serve's hub holds too many channels: " + err.Error()}
	}
	return &ErrorInfo{Code: 50000, StatusCode: 500, Message: err.Error()}
}

// history serves GET /channels/{channel}/messages from the channel's kept
// messages: limit (default 100, at most 1000), direction backwards (the
// default: newest first) or forwards.
func (h *Handler) history(w http.ResponseWriter, r *http.Request) {
	channel := r.PathValue("channel")
	p, e := h.authREST(r)
	if e != nil {
		writeErr(w, r, e)
		return
	}
	if !pubsub.ValidChannel(channel) {
		writeErr(w, r, errBadChannel(channel))
		return
	}
	if !p.Capability.Allows(channel, "history") {
		writeErr(w, r, errNotPermitted("history", channel))
		return
	}
	q := r.URL.Query()
	limit := 100
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			writeErr(w, r, &ErrorInfo{Code: 40003, StatusCode: 400, Message: fmt.Sprintf("limit %q: want 1 to 1000", s)})
			return
		}
		limit = n
	}
	dir := q.Get("direction")
	if dir != "" && dir != "backwards" && dir != "forwards" {
		writeErr(w, r, &ErrorInfo{Code: 40003, StatusCode: 400, Message: fmt.Sprintf("direction %q: want backwards or forwards", dir)})
		return
	}
	sub, err := h.Hub.Subscribe(channel, 0, true)
	if err != nil {
		writeErr(w, r, hubError(channel, err))
		return
	}
	kept, _, _ := sub.Next(nil)
	sub.Close()
	f := responseFormat(r)
	now := h.now().UnixNano()
	out := make([]*Message, 0, min(limit, len(kept)))
	for i := range min(limit, len(kept)) {
		j := i
		if dir != "forwards" {
			j = len(kept) - 1 - i
		}
		out = append(out, hubMessage(kept[j], now).forWire(f))
	}
	writeREST(w, r, http.StatusOK, out)
}

// requestToken serves POST /keys/{keyName}/requestToken: a signed token
// request (from an authUrl or authCallback, or the SDK signing with its
// key), or token parameters with Basic auth.
func (h *Handler) requestToken(w http.ResponseWriter, r *http.Request) {
	var basic *Principal
	if r.Header.Get("Authorization") != "" {
		var e *ErrorInfo
		if basic, e = h.authREST(r); e != nil {
			writeErr(w, r, e)
			return
		}
	}
	f, err := requestFormat(r)
	if err != nil {
		writeErr(w, r, &ErrorInfo{Code: 40001, StatusCode: 415, Message: err.Error()})
		return
	}
	body, e := readBody(w, r)
	if e != nil {
		writeErr(w, r, e)
		return
	}
	var tr TokenRequest
	if len(bytes.TrimSpace(body)) > 0 {
		if err := unmarshal(body, f, &tr); err != nil {
			writeErr(w, r, &ErrorInfo{Code: 40001, StatusCode: 400, Message: "invalid token request: " + err.Error()})
			return
		}
	}
	td, e := h.kr.requestToken(r.PathValue("keyName"), tr, basic)
	if e != nil {
		writeErr(w, r, e)
		return
	}
	writeREST(w, r, http.StatusOK, td)
}

// headerHasToken reports whether the comma-separated header key lists token,
// ignoring case.
func headerHasToken(h http.Header, key, token string) bool {
	for _, v := range h.Values(key) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
