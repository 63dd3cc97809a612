package transport

import (
	"net/url"
	"regexp"
	"strings"
)

// Redacted replaces every secret RedactURL hides.
const Redacted = "xxxxx"

// RedactURL returns raw with its secrets replaced by Redacted, for every
// place a URL is printed or saved (reports, JSON, result files, JUnit,
// HTML, error lines); requests keep using the real URL.
//
//   - Userinfo: a password is replaced and the user name kept
//     (http://user:xxxxx@host); a user name alone is replaced too
//     (http://xxxxx@host), since it is often a token.
//   - Query parameters and fragment parameters (#access_token=… in OAuth
//     redirects) whose name looks like a secret: see SecretName.
//
// Every other byte is kept as it was (the URL is edited, not parsed and
// printed again), so redacting twice changes nothing, and a URL that would
// not parse is redacted all the same.
func RedactURL(raw string) string {
	if !strings.ContainsAny(raw, "@?#") {
		return raw
	}
	s := raw
	start := -1
	if i := strings.Index(s, "://"); i > 0 && isScheme(s[:i]) {
		start = i + 3
	} else if strings.HasPrefix(s, "//") {
		start = 2
	}
	if start >= 0 {
		end := len(s)
		if j := strings.IndexAny(s[start:], "/?#"); j >= 0 {
			end = start + j
		}
		if at := strings.LastIndexByte(s[start:end], '@'); at >= 0 {
			ui := Redacted
			if user, _, ok := strings.Cut(s[start:start+at], ":"); ok {
				ui = user + ":" + Redacted
			}
			s = s[:start] + ui + s[start+at:]
		}
	}
	frag := ""
	if h := strings.IndexByte(s, '#'); h >= 0 {
		s, frag = s[:h], redactParams(s[h:])
	}
	if q := strings.IndexByte(s, '?'); q >= 0 {
		s = s[:q] + redactParams(s[q:])
	}
	return s + frag
}

// isScheme reports whether s is a URL scheme (RFC 3986 §3.1).
func isScheme(s string) bool {
	for i, c := range []byte(s) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// SecretName reports whether a query parameter named name carries a secret:
// its name, lowercased and without '-', '_' and '.', is or ends with one of
// key, token, secret, password, passwd, pwd, auth, authorization,
// signature, sig, credential, credentials, session. So key, api_key,
// apikey, X-Api-Key, access_token, client_secret, X-Amz-Signature and
// X-Amz-Security-Token are all secrets.
func SecretName(name string) bool {
	n := strings.Map(func(r rune) rune {
		switch r {
		case '-', '_', '.':
			return -1
		}
		return r
	}, strings.ToLower(name))
	for _, s := range secretSuffixes {
		if strings.HasSuffix(n, s) {
			return true
		}
	}
	return false
}

var secretSuffixes = []string{
	"key", "token", "secret", "password", "passwd", "pwd", "auth", "authorization",
	"signature", "sig", "credential", "credentials", "session",
}

// redactParams replaces the values of secret parameters in raw, a query
// or fragment with its leading '?' or '#': name=value pairs separated by
// '&' or ';'. Every other byte is kept.
func redactParams(raw string) string {
	if !strings.Contains(raw, "=") {
		return raw
	}
	var b strings.Builder
	b.Grow(len(raw))
	b.WriteByte(raw[0])
	rest := raw[1:]
	for {
		end := strings.IndexAny(rest, "&;")
		if end < 0 {
			end = len(rest)
		}
		pair := rest[:end]
		if name, value, has := strings.Cut(pair, "="); has && value != "" {
			if n, err := url.QueryUnescape(name); err == nil {
				name = n
			}
			if SecretName(name) {
				pair = pair[:len(pair)-len(value)] + Redacted
			}
		}
		b.WriteString(pair)
		if end == len(rest) {
			return b.String()
		}
		b.WriteByte(rest[end])
		rest = rest[end+1:]
	}
}

// urlInText finds URLs in free text: a scheme, "://", then everything up to
// a space, a quote or an angle bracket (Go's errors quote URLs: Get "…").
var urlInText = regexp.MustCompile("[A-Za-z][A-Za-z0-9+.-]*://[^\\s\"'<>`]+")

// RedactText redacts every URL in s (RedactURL), for error messages and
// other free text that may quote one: Go's *url.Error does, with the query
// whole and the password as "***".
func RedactText(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	return urlInText.ReplaceAllStringFunc(s, func(m string) string {
		// Punctuation that ends a sentence is not part of the URL.
		u := strings.TrimRight(m, ".,:;)]}!?")
		return RedactURL(u) + m[len(u):]
	})
}
