package pusher

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// AuthVersion is the only auth_version of Pusher's HTTP API.
const AuthVersion = "1.0"

// MaxClockSkew is how far a request's auth_timestamp may be from the
// server's clock: Pusher refuses a request outside it.
const MaxClockSkew = 600 * time.Second

// hmacHex is the HMAC-SHA256 hex digest of msg with secret.
func hmacHex(secret, msg string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

// BodyMD5 is the hex MD5 of a request body, the body_md5 parameter.
func BodyMD5(body []byte) string {
	s := md5.Sum(body)
	return hex.EncodeToString(s[:])
}

// StringToSign is what a request's auth_signature signs: the upper-case
// method, the path and the query parameters but auth_signature, keys in
// lower case and sorted, joined as in a query string but not escaped, on
// three lines.
func StringToSign(method, path string, params url.Values) string {
	keys := make([]string, 0, len(params))
	low := make(map[string]string, len(params))
	for k, v := range params {
		lk := strings.ToLower(k)
		if lk == "auth_signature" || len(v) == 0 {
			continue
		}
		if _, dup := low[lk]; !dup {
			keys = append(keys, lk)
		}
		low[lk] = v[0]
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(strings.ToUpper(method))
	b.WriteByte('\n')
	b.WriteString(path)
	b.WriteByte('\n')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(low[k])
	}
	return b.String()
}

// SignRequest adds the authentication parameters of Pusher's HTTP API to
// params (which may hold others, such as info): auth_key, auth_timestamp
// (now), auth_version, body_md5 when body is not empty, and auth_signature.
func SignRequest(app App, method, path string, params url.Values, body []byte, now time.Time) url.Values {
	if params == nil {
		params = url.Values{}
	}
	params.Set("auth_key", app.Key)
	params.Set("auth_timestamp", strconv.FormatInt(now.Unix(), 10))
	params.Set("auth_version", AuthVersion)
	params.Del("body_md5")
	if len(body) > 0 {
		params.Set("body_md5", BodyMD5(body))
	}
	params.Del("auth_signature")
	params.Set("auth_signature", hmacHex(app.Secret, StringToSign(method, path, params)))
	return params
}

// AuthError is a request refused by VerifyRequest: 401, with Pusher's
// message.
type AuthError struct{ Msg string }

func (e *AuthError) Error() string { return e.Msg }

// VerifyRequest checks a signed HTTP API request against app at now: the
// key, the timestamp (within MaxClockSkew), body_md5 and the signature, in
// that order, each refusal with the message Pusher's API answers.
func VerifyRequest(app App, method, path string, params url.Values, body []byte, now time.Time) error {
	for _, p := range []string{"auth_key", "auth_timestamp", "auth_signature"} {
		if params.Get(p) == "" {
			return &AuthError{"Missing parameter: " + p}
		}
	}
	if params.Get("auth_key") != app.Key {
		return &AuthError{"Unknown auth_key"}
	}
	if v := params.Get("auth_version"); v != "" && v != AuthVersion {
		return &AuthError{"Unsupported auth_version " + strconv.Quote(v) + ": want " + AuthVersion}
	}
	ts, err := strconv.ParseInt(params.Get("auth_timestamp"), 10, 64)
	if err != nil {
		return &AuthError{"Invalid auth_timestamp " + strconv.Quote(params.Get("auth_timestamp")) + ": want Unix seconds"}
	}
	if d := now.Unix() - ts; d > int64(MaxClockSkew/time.Second) || d < -int64(MaxClockSkew/time.Second) {
		return &AuthError{fmt.Sprintf("Timestamp expired: Given timestamp (%s) not within %ds of server time (%s)",
			time.Unix(ts, 0).UTC().Format(time.RFC3339), int64(MaxClockSkew/time.Second), now.UTC().Format(time.RFC3339))}
	}
	if len(body) > 0 {
		if got, want := params.Get("body_md5"), BodyMD5(body); got != want {
			return &AuthError{fmt.Sprintf("Invalid body_md5: the body's MD5 is %s, but you sent %q", want, got)}
		}
	}
	s := StringToSign(method, path, params)
	want := hmacHex(app.Secret, s)
	got := params.Get("auth_signature")
	if !hmac.Equal([]byte(got), []byte(want)) {
		return &AuthError{fmt.Sprintf("Invalid signature: you should have sent HmacSHA256Hex(%q, your_secret_key), but you sent %q", s, got)}
	}
	return nil
}

// ChannelAuth is the auth string a client sends to subscribe to a private
// or presence channel: "key:signature", the signature an HMAC-SHA256 hex
// digest of "socket_id:channel" (private) or "socket_id:channel:channel_data"
// (presence) with the app secret.
func ChannelAuth(app App, socketID, channel, channelData string) string {
	msg := socketID + ":" + channel
	if channelData != "" {
		msg += ":" + channelData
	}
	return app.Key + ":" + hmacHex(app.Secret, msg)
}

// ChannelKind is a channel's type by its name's prefix.
type ChannelKind int

const (
	Public ChannelKind = iota
	Private
	Presence
)

// KindOf says what kind of channel name is: presence-…, private-… (the
// encrypted private-encrypted-… included) or public.
func KindOf(name string) ChannelKind {
	switch {
	case strings.HasPrefix(name, "presence-"):
		return Presence
	case strings.HasPrefix(name, "private-"):
		return Private
	}
	return Public
}
