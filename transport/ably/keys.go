package ably

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// DefaultKey is the key `rtbench serve` accepts when no --ably-key is
// given: for local development only, and documented as such.
const DefaultKey = "rtbench.local:rtbench-local-secret"

// Key is one API key: "appId.keyId:secret". Name is the part before the
// colon; it has every capability.
type Key struct {
	Name   string
	Secret string
}

// ParseKey reads "name:secret", where name is "appId.keyId".
func ParseKey(s string) (Key, error) {
	name, secret, ok := strings.Cut(s, ":")
	app, id, dot := strings.Cut(name, ".")
	switch {
	case !ok || secret == "":
		return Key{}, fmt.Errorf("Ably key %q: want appId.keyId:secret, such as %s", redactKey(s), DefaultKey)
	case !dot || !keyWord(app) || !keyWord(id):
		return Key{}, fmt.Errorf("Ably key %q: the name before the colon must be appId.keyId (letters, digits, - and _), such as %s", redactKey(s), DefaultKey)
	case strings.ContainsAny(secret, " \t\r\n:"):
		return Key{}, fmt.Errorf("Ably key %q: the secret must not contain spaces or colons", redactKey(s))
	}
	return Key{Name: name, Secret: secret}, nil
}

func keyWord(s string) bool {
	for _, c := range s {
		if !(c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return s != ""
}

// String is the key with its secret hidden.
func (k Key) String() string { return k.Name + ":xxxxx" }

// redactKey shows a key's name only: with no colon, the whole value may be
// a secret pasted alone.
func redactKey(s string) string {
	if name, _, ok := strings.Cut(s, ":"); ok {
		return name + ":xxxxx"
	}
	return "xxxxx"
}

// Capability is what a credential may do: channel (or "*", or a prefix
// "ns:*") → operations ("publish", "subscribe", "history", "presence" or
// "*").
type Capability map[string][]string

// AllCapability is a key's: everything on every channel.
var AllCapability = Capability{"*": {"*"}}

// ParseCapability reads a capability's JSON text; empty means nil.
func ParseCapability(s string) (Capability, error) {
	if s == "" {
		return nil, nil
	}
	var c Capability
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return nil, fmt.Errorf("capability %q is not a JSON object of channel → operations: %v", s, err)
	}
	return c, nil
}

// Allows reports whether op on channel is permitted.
func (c Capability) Allows(channel, op string) bool {
	for res, ops := range c {
		if !resourceMatches(res, channel) {
			continue
		}
		for _, o := range ops {
			if o == "*" || o == op {
				return true
			}
		}
	}
	return false
}

// AllowsAny reports whether any operation on channel is permitted.
func (c Capability) AllowsAny(channel string) bool {
	for res, ops := range c {
		if resourceMatches(res, channel) && len(ops) > 0 {
			return true
		}
	}
	return false
}

func resourceMatches(res, channel string) bool {
	if res == "*" || res == channel {
		return true
	}
	if prefix, ok := strings.CutSuffix(res, "*"); ok && prefix != "" {
		return strings.HasPrefix(channel, prefix)
	}
	return false
}

// String is the capability's JSON text.
func (c Capability) String() string {
	b, _ := json.Marshal(c)
	return string(b)
}

// Principal is who a request or connection is authenticated as.
type Principal struct {
	Key        Key
	ClientID   string
	Capability Capability
	Token      bool
}

// keyring checks credentials against the configured keys.
type keyring struct {
	keys []Key
	now  func() time.Time
}

func (kr *keyring) byName(name string) (Key, bool) {
	for _, k := range kr.keys {
		if k.Name == name {
			return k, true
		}
	}
	return Key{}, false
}

// checkKey authenticates "name:secret".
func (kr *keyring) checkKey(s string) (*Principal, *ErrorInfo) {
	name, secret, ok := strings.Cut(s, ":")
	if !ok {
		return nil, errInvalidCredentials("the key has no colon-separated secret")
	}
	k, ok := kr.byName(name)
	if !ok {
		return nil, errInvalidCredentials("no key named " + name + " on this server (rtbench serve --ably-key)")
	}
	if subtle.ConstantTimeCompare([]byte(secret), []byte(k.Secret)) != 1 {
		return nil, errInvalidCredentials("the secret of key " + name + " is wrong")
	}
	return &Principal{Key: k, Capability: AllCapability}, nil
}

// tokenClaims are what a token carries; the token is their JSON, base64url,
// then "." and an HMAC-SHA256 of that text under the key's secret, so the
// server keeps no token state and a token issued before a restart still
// works with the same key.
type tokenClaims struct {
	KeyName    string `json:"k"`
	Issued     int64  `json:"i"`
	Expires    int64  `json:"x"`
	Capability string `json:"c,omitempty"`
	ClientID   string `json:"cid,omitempty"`
}

// TokenDetails is the answer to a token request.
type TokenDetails struct {
	Token      string `json:"token" msgpack:"token"`
	KeyName    string `json:"keyName" msgpack:"keyName"`
	Issued     int64  `json:"issued" msgpack:"issued"`
	Expires    int64  `json:"expires" msgpack:"expires"`
	Capability string `json:"capability" msgpack:"capability"`
	ClientID   string `json:"clientId,omitempty" msgpack:"clientId,omitempty"`
}

const tokenPrefix = "rtb1."

func (kr *keyring) issue(k Key, c tokenClaims) TokenDetails {
	payload, _ := json.Marshal(c)
	body := tokenPrefix + base64.RawURLEncoding.EncodeToString(payload)
	tok := body + "." + base64.RawURLEncoding.EncodeToString(sign(k.Secret, body))
	return TokenDetails{Token: tok, KeyName: c.KeyName, Issued: c.Issued, Expires: c.Expires, Capability: c.Capability, ClientID: c.ClientID}
}

func sign(secret, text string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(text))
	return m.Sum(nil)
}

// checkToken authenticates a token this server issued: 40143 when it is not
// one (or was signed by another key or secret), 40142 when it expired.
func (kr *keyring) checkToken(tok string) (*Principal, *ErrorInfo) {
	body, mac, ok := strings.Cut(strings.TrimPrefix(tok, tokenPrefix), ".")
	if !ok || !strings.HasPrefix(tok, tokenPrefix) {
		return nil, errTokenUnrecognised()
	}
	payload, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return nil, errTokenUnrecognised()
	}
	var c tokenClaims
	if json.Unmarshal(payload, &c) != nil {
		return nil, errTokenUnrecognised()
	}
	k, found := kr.byName(c.KeyName)
	got, err := base64.RawURLEncoding.DecodeString(mac)
	if !found || err != nil || !hmac.Equal(got, sign(k.Secret, tokenPrefix+body)) {
		return nil, errTokenUnrecognised()
	}
	if kr.now().UnixMilli() >= c.Expires {
		return nil, &ErrorInfo{Code: 40142, StatusCode: 401, Message: "token expired"}
	}
	capab := AllCapability
	if c.Capability != "" {
		if capab, err = ParseCapability(c.Capability); err != nil {
			return nil, errTokenUnrecognised()
		}
	}
	return &Principal{Key: k, ClientID: c.ClientID, Capability: capab, Token: true}, nil
}

// TokenRequest is a signed request for a token (createTokenRequest's
// output), or, with Basic auth, bare token parameters.
type TokenRequest struct {
	KeyName    string `json:"keyName" msgpack:"keyName"`
	TTL        int64  `json:"ttl,omitempty" msgpack:"ttl,omitempty"`
	Capability string `json:"capability,omitempty" msgpack:"capability,omitempty"`
	ClientID   string `json:"clientId,omitempty" msgpack:"clientId,omitempty"`
	Timestamp  int64  `json:"timestamp,omitempty" msgpack:"timestamp,omitempty"`
	Nonce      string `json:"nonce,omitempty" msgpack:"nonce,omitempty"`
	MAC        string `json:"mac,omitempty" msgpack:"mac,omitempty"`
}

// Token lifetimes.
const (
	DefaultTokenTTL = time.Hour
	MaxTokenTTL     = 24 * time.Hour
	// MaxClockSkew is how far a token request's timestamp may be from the
	// server's clock (40104 beyond).
	MaxClockSkew = 10 * time.Minute
)

// requestToken issues a token for keyName. basic is the principal of a
// Basic-authenticated request (nil when the request carries none: then
// the request's mac must be right).
func (kr *keyring) requestToken(keyName string, tr TokenRequest, basic *Principal) (TokenDetails, *ErrorInfo) {
	k, ok := kr.byName(keyName)
	if !ok || (tr.KeyName != "" && tr.KeyName != keyName) {
		return TokenDetails{}, errInvalidCredentials("no key named " + keyName + " on this server (rtbench serve --ably-key)")
	}
	now := kr.now()
	if basic == nil || basic.Key.Name != keyName {
		if tr.MAC == "" {
			return TokenDetails{}, errInvalidCredentials("the token request is not signed (no mac) and has no Basic authorization")
		}
		ttl := ""
		if tr.TTL != 0 {
			ttl = fmt.Sprint(tr.TTL)
		}
		ts := fmt.Sprint(tr.Timestamp)
		text := tr.KeyName + "\n" + ttl + "\n" + tr.Capability + "\n" + tr.ClientID + "\n" + ts + "\n" + tr.Nonce + "\n"
		want := base64.StdEncoding.EncodeToString(sign(k.Secret, text))
		if subtle.ConstantTimeCompare([]byte(want), []byte(tr.MAC)) != 1 {
			return TokenDetails{}, errInvalidCredentials("the token request's mac is wrong (signed with another secret?)")
		}
		if d := now.Sub(time.UnixMilli(tr.Timestamp)); d > MaxClockSkew || d < -MaxClockSkew {
			return TokenDetails{}, &ErrorInfo{Code: 40104, StatusCode: 401, Message: fmt.Sprintf("timestamp not current: %s from the server's clock", d.Round(time.Second))}
		}
	}
	ttl := time.Duration(tr.TTL) * time.Millisecond
	switch {
	case ttl == 0:
		ttl = DefaultTokenTTL
	case ttl < 0 || ttl > MaxTokenTTL:
		return TokenDetails{}, &ErrorInfo{Code: 40003, StatusCode: 400, Message: fmt.Sprintf("ttl %d ms: want 1 to %d", tr.TTL, MaxTokenTTL.Milliseconds())}
	}
	capab := tr.Capability
	if capab == "" {
		capab = AllCapability.String()
	} else if _, err := ParseCapability(capab); err != nil {
		return TokenDetails{}, &ErrorInfo{Code: 40003, StatusCode: 400, Message: err.Error()}
	}
	return kr.issue(k, tokenClaims{KeyName: keyName, Issued: now.UnixMilli(), Expires: now.Add(ttl).UnixMilli(), Capability: capab, ClientID: tr.ClientID}), nil
}

func errInvalidCredentials(why string) *ErrorInfo {
	return &ErrorInfo{Code: 40101, StatusCode: 401, Message: "invalid credentials: " + why}
}

func errTokenUnrecognised() *ErrorInfo {
	return &ErrorInfo{Code: 40143, StatusCode: 401, Message: "token unrecognised: not issued by this server's keys"}
}

func errNotPermitted(op, channel string) *ErrorInfo {
	return &ErrorInfo{Code: 40160, StatusCode: 401, Message: fmt.Sprintf("operation %s on channel %q not permitted with the provided capability", op, channel)}
}
