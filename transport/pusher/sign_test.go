package pusher

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The worked example of Pusher's HTTP API reference ("Worked
// authentication example"): app 3, key 278d425bdf160c739803, secret
// 7ad3773142a6692b25b8, the foo event on project-3 with {"some":"data"},
// signed at 1353088179.
var (
	docApp       = App{ID: "3", Key: "278d425bdf160c739803", Secret: "7ad3773142a6692b25b8"}
	docBody      = []byte(`{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}`)
	docTimestamp = time.Unix(1353088179, 0)
)

const (
	docMD5       = "ec365a775a4cd0599faeb73354201b6f"
	docToSign    = "POST\n/apps/3/events\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f"
	docSignature = "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c"
)

func TestSignRequestWorkedExample(t *testing.T) {
	if got := BodyMD5(docBody); got != docMD5 {
		t.Fatalf("body_md5 = %s, want %s", got, docMD5)
	}
	q := SignRequest(docApp, "POST", "/apps/3/events", nil, docBody, docTimestamp)
	if got := StringToSign("POST", "/apps/3/events", q); got != docToSign {
		t.Errorf("string to sign =\n%q\nwant\n%q", got, docToSign)
	}
	if got := q.Get("auth_signature"); got != docSignature {
		t.Errorf("auth_signature = %s, want %s", got, docSignature)
	}
	if err := VerifyRequest(docApp, "POST", "/apps/3/events", q, docBody, docTimestamp.Add(time.Minute)); err != nil {
		t.Errorf("the documented request is refused: %v", err)
	}
}

// The documented request as a client sends it: the parameters in the query
// string, in any order and case.
func TestVerifyRequest(t *testing.T) {
	docQuery := "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=" + docMD5 + "&auth_signature=" + docSignature
	mod := func(k, v string) string {
		q, _ := url.ParseQuery(docQuery)
		q.Set(k, v)
		return q.Encode()
	}
	for _, tc := range []struct {
		name  string
		query string
		body  []byte
		now   time.Time
		want  string // "" accepted; else the start of the message
	}{
		{"documented", docQuery, docBody, docTimestamp, ""},
		{"upper-case keys", strings.Replace(docQuery, "auth_version", "AUTH_VERSION", 1), docBody, docTimestamp, ""},
		{"clock 600s ahead", docQuery, docBody, docTimestamp.Add(600 * time.Second), ""},
		{"clock 600s behind", docQuery, docBody, docTimestamp.Add(-600 * time.Second), ""},
		{"stale", docQuery, docBody, docTimestamp.Add(601 * time.Second),
			"Timestamp expired: Given timestamp (2012-11-16T17:49:39Z) not within 600s of server time (2012-11-16T17:59:40Z)"},
		{"future", docQuery, docBody, docTimestamp.Add(-601 * time.Second), "Timestamp expired: "},
		{"wrong signature", mod("auth_signature", strings.Repeat("0", 64)), docBody, docTimestamp,
			`Invalid signature: you should have sent HmacSHA256Hex("POST\n/apps/3/events\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f", your_secret_key), but you sent "` + strings.Repeat("0", 64) + `"`},
		{"extra parameter not signed", docQuery + "&info=user_count", docBody, docTimestamp, "Invalid signature: "},
		{"body changed", docQuery, []byte(`{"name":"foo","channels":["project-4"],"data":"{}"}`), docTimestamp, "Invalid body_md5: "},
		{"wrong key", mod("auth_key", "other"), docBody, docTimestamp, "Unknown auth_key"},
		{"no timestamp", mod("auth_timestamp", ""), docBody, docTimestamp, "Missing parameter: auth_timestamp"},
		{"no signature", mod("auth_signature", ""), docBody, docTimestamp, "Missing parameter: auth_signature"},
		{"bad timestamp", mod("auth_timestamp", "soon"), docBody, docTimestamp, "Invalid auth_timestamp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			err = VerifyRequest(docApp, "POST", "/apps/3/events", q, tc.body, tc.now)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ae *AuthError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want an *AuthError", err)
			}
			if !strings.HasPrefix(ae.Msg, tc.want) {
				t.Errorf("message\n%s\nwant it to start with\n%s", ae.Msg, tc.want)
			}
		})
	}
}

// The worked examples of Pusher's "Authentication and authorization
// signatures" page: a private channel and a presence channel.
func TestChannelAuth(t *testing.T) {
	app := App{Key: "278d425bdf160c739803", Secret: "7ad3773142a6692b25b8"}
	if got, want := ChannelAuth(app, "1234.1234", "private-foobar", ""),
		"278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"; got != want {
		t.Errorf("private: %s, want %s", got, want)
	}
	if got, want := ChannelAuth(app, "1234.1234", "presence-foobar", `{"user_id":10,"user_info":{"name":"Mr. Channels"}}`),
		"278d425bdf160c739803:31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80"; got != want {
		t.Errorf("presence: %s, want %s", got, want)
	}
}

func TestParseApp(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want App
		err  string
	}{
		{"1:k:s", App{"1", "k", "s"}, ""},
		{"1:k:s:t", App{}, "want ID:KEY:SECRET"},
		{"1::s", App{}, "want ID:KEY:SECRET"},
		{"1:k y:s", App{}, `the key "k y" holds`},
	} {
		got, err := ParseApp(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseApp(%q) = %v, want an error with %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseApp(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	if s := (App{"1", "k", "topsecret"}).String(); strings.Contains(s, "topsecret") {
		t.Errorf("App.String %q shows the secret", s)
	}
}
