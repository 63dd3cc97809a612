package transport

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://127.0.0.1:8080/sse?rate=10", "http://127.0.0.1:8080/sse?rate=10"},
		{"http://user:pw@host/sse", "http://user:xxxxx@host/sse"},
		{"https://tok3n@host/", "https://xxxxx@host/"},
		{"http://user:p%40ss@host:9/x", "http://user:xxxxx@host:9/x"},
		{"http://h/sse?token=SECRET&rate=10", "http://h/sse?token=xxxxx&rate=10"},
		{"http://h/?rate=1&Token=S&tokens=10", "http://h/?rate=1&Token=xxxxx&tokens=10"},
		{"http://h/?key=a&api_key=b&apikey=c&X-Api-Key=d&access_token=e&auth=f", "http://h/?key=xxxxx&api_key=xxxxx&apikey=xxxxx&X-Api-Key=xxxxx&access_token=xxxxx&auth=xxxxx"},
		{"http://h/?signature=a&sig=b&password=c&secret=d&client_secret=e", "http://h/?signature=xxxxx&sig=xxxxx&password=xxxxx&secret=xxxxx&client_secret=xxxxx"},
		{"http://h/?X-Amz-Credential=a&X-Amz-Signature=b&X-Amz-Security-Token=c&X-Amz-Date=d", "http://h/?X-Amz-Credential=xxxxx&X-Amz-Signature=xxxxx&X-Amz-Security-Token=xxxxx&X-Amz-Date=d"},
		{"http://h/?api%5Fkey=a%20b&q=a%20b", "http://h/?api%5Fkey=xxxxx&q=a%20b"},
		{"http://h/?token=&flag", "http://h/?token=&flag"},
		{"http://h/cb#access_token=abc&state=1", "http://h/cb#access_token=xxxxx&state=1"},
		{"ws://u:p@h/ws?channel=lobby&sig=x", "ws://u:xxxxx@h/ws?channel=lobby&sig=xxxxx"},
		{"http://u:***@h/?token=x", "http://u:xxxxx@h/?token=xxxxx"},
		{"/relative?token=x", "/relative?token=xxxxx"},
		{"http://u:pw@h/%zz?token=x", "http://u:xxxxx@h/%zz?token=xxxxx"}, // does not parse
		{"not a url", "not a url"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
		if again := RedactURL(tt.want); again != tt.want {
			t.Errorf("RedactURL is not idempotent on %q: %q", tt.want, again)
		}
	}
}

// TestRedactText: the error Go's HTTP client returns quotes the URL with
// its query (and the password as ***); RedactText hides both, and the rest
// of the message stays.
func TestRedactText(t *testing.T) {
	req, _ := http.NewRequest("GET", "http://user:pw@127.0.0.1:1/sse?token=SECRET", nil)
	_, err := (&http.Client{}).Do(req)
	if err == nil {
		t.Fatal("expected a dial error")
	}
	got := RedactText(err.Error())
	if strings.Contains(got, "pw@") || strings.Contains(got, "SECRET") {
		t.Errorf("RedactText(%q) = %q: the secrets are still there", err, got)
	}
	if !strings.Contains(got, `"http://user:xxxxx@127.0.0.1:1/sse?token=xxxxx"`) || !strings.Contains(got, "connection refused") {
		t.Errorf("RedactText = %q", got)
	}
	e := &Error{Class: ClassRefused, Err: err}
	if s := e.Error(); strings.Contains(s, "SECRET") {
		t.Errorf("(*Error).Error() = %q holds the token", s)
	}
	if !errors.Is(e, err) {
		t.Error("the cause is lost")
	}
	for in, want := range map[string]string{
		"cannot reach http://a:b@h/x?key=k, http://h/y?sig=s: refused": "cannot reach http://a:xxxxx@h/x?key=xxxxx, http://h/y?sig=xxxxx: refused",
		"no url here":      "no url here",
		"<ws://h/?auth=1>": "<ws://h/?auth=xxxxx>",
	} {
		if got := RedactText(in); got != want {
			t.Errorf("RedactText(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzRedactURL: no panic; a secret parameter's value or a password never
// survives; redacting twice changes nothing more.
func FuzzRedactURL(f *testing.F) {
	for _, s := range []string{"http://u:p@h/?token=t", "ws://h/ws?k=1&api-key=2#sig=3", "http://h/%zz?secret=x", "https://t@h", "?auth=x;y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := RedactURL(s)
		if RedactURL(r) != r {
			t.Errorf("not idempotent: %q → %q → %q", s, r, RedactURL(r))
		}
		_ = RedactText(s)
		u, err := url.Parse(r)
		if err != nil || u.Opaque != "" {
			return
		}
		if pw, ok := u.User.Password(); ok && pw != Redacted {
			t.Errorf("%q → %q keeps the password %q", s, r, pw)
		}
		for name, vals := range u.Query() {
			for _, v := range vals {
				if SecretName(name) && v != "" && v != Redacted {
					t.Errorf("%q → %q keeps %s=%q", s, r, name, v)
				}
			}
		}
	})
}
