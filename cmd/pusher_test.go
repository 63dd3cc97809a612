package cmd

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport/mock"
	"github.com/rtbench/rtbench/transport/pusher"
)

// pusherURL is serve's Pusher endpoint of base for channel, with the
// default app's credentials.
func pusherURL(base, channel string) string {
	a := pusher.DefaultApp
	return "pusher://" + a.Key + ":" + a.Secret + "@" + strings.TrimPrefix(base, "http://") + "/" + channel + "?app=" + a.ID
}

// TestLoadPusher: load holds Pusher subscribers on serve with a publisher
// at --publish-rate; every session gets the messages, none lost or
// duplicated, and the secret is in no output.
func TestLoadPusher(t *testing.T) {
	base := startMock(t, mock.Config{})
	code, stdout, stderr := runLoad(t, t.Context(), "-c", "4", "-d", "2s", "--publish-rate", "20/s", "--json", "--allow-saturated",
		pusherURL(base, "private-load"))
	if code != 0 {
		t.Fatalf("load: exit %d\n%s", code, stderr)
	}
	var r struct {
		Target   struct{ URL string }
		Params   struct{ Defaults map[string]string }
		Counters map[string]int64
		Errors   map[string]any
		Metrics  map[string]struct{ Count int64 }
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	// 40 messages at 20/s for 2 s, to 4 subscribers: the first ones may go
	// before a session subscribed, so at least 4 × 30.
	if ev := r.Counters["events"]; ev < 120 || ev > 160 {
		t.Errorf("events %d, want 120 to 160", ev)
	}
	if r.Counters["lost"] != 0 || r.Counters["duplicates"] != 0 || len(r.Errors) != 0 {
		t.Errorf("lost %d, duplicates %d, errors %v", r.Counters["lost"], r.Counters["duplicates"], r.Errors)
	}
	if r.Metrics["delivery"].Count != r.Counters["events"] {
		t.Errorf("delivery has %d values for %d events", r.Metrics["delivery"].Count, r.Counters["events"])
	}
	if r.Params.Defaults["publish_rate"] != "20/s" {
		t.Errorf("defaults %v", r.Params.Defaults)
	}
	if !strings.Contains(stderr, "rtbench: published 40 messages") && !strings.Contains(stderr, "rtbench: published 39 messages") {
		t.Errorf("stderr does not say what was published:\n%s", stderr)
	}
	if strings.Contains(stdout+stderr, pusher.DefaultApp.Secret) {
		t.Errorf("the secret is printed")
	}
}

func TestPublishRateNeedsPusher(t *testing.T) {
	base := startMock(t, mock.Config{})
	code, _, stderr := runLoad(t, t.Context(), "-c", "1", "-d", "1s", "--publish-rate", "1/s", base+"/sse")
	if code != 2 || !strings.Contains(stderr, "--publish-rate publishes through a managed service's HTTP API: it needs a pusher:// URL, not sse") {
		t.Errorf("exit %d\n%s", code, stderr)
	}
	code, _, stderr = runLoad(t, t.Context(), "-c", "1", "-d", "1s", "--publish-rate", "1/s", "pusher://k@"+strings.TrimPrefix(base, "http://")+"/c")
	if code != 2 || !strings.Contains(stderr, "needs the app ID and secret") {
		t.Errorf("exit %d\n%s", code, stderr)
	}
}

func TestConfirmBilling(t *testing.T) {
	for _, tc := range []struct {
		name     string
		url      string
		rate     float64
		seconds  float64
		sessions int
		yes      bool
		err      string // "" none
		said     string // on stderr; "" nothing
	}{
		{"loopback bills nothing", "pusher://k:s@127.0.0.1:8080/c", 100, 600, 5000, false, "", ""},
		{"localhost too", "pusher://k:s@localhost:8080/c", 100, 600, 5000, false, "", ""},
		{"remote under the bound", "pushers://k:s@ws-eu.pusher.com/c", 10, 10, 100, false, "", "about 100 messages to pushers://k:xxxxx@ws-eu.pusher.com/c, delivered to 100 subscribers: about 10000 deliveries"},
		{"remote over the bound", "pushers://k:s@ws-eu.pusher.com/c", 10, 10, 101, false, "about 10100 message deliveries (over 10000) on a billed service; add --yes", "about 10100 deliveries"},
		{"remote over the bound with --yes", "pushers://k:s@ws-eu.pusher.com/c", 10, 60, 5000, true, "", "about 3000000 deliveries"},
		{"no publisher", "pushers://k:s@ws-eu.pusher.com/c", 0, 60, 5000, false, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, _, errOut := TestEnv()
			err := confirmBilling(env, tc.url, tc.rate, tc.seconds, tc.sessions, tc.yes)
			if (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Errorf("err %v, want %q", err, tc.err)
			}
			if tc.said == "" && errOut.Len() > 0 || !strings.Contains(errOut.String(), tc.said) {
				t.Errorf("stderr %q, want %q", errOut, tc.said)
			}
			if strings.Contains(errOut.String(), ":s@") {
				t.Errorf("the secret is printed: %s", errOut)
			}
		})
	}
}

// TestCheckPusher: check connects, subscribes and sees a published event
// within T; a wrong secret fails both the events and the publish.
func TestCheckPusher(t *testing.T) {
	base := startMock(t, mock.Config{})
	env, out, errOut := TestEnv()
	code := Run(t.Context(), env, BuildInfo{}, []string{"check", "--publish-rate", "5/s", "--within", "5s", pusherURL(base, "presence-check")})
	if code != 0 || !strings.Contains(out.String(), "PASS  events") || !strings.Contains(out.String(), "PASS  publish") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	env, out, errOut = TestEnv()
	bad := strings.Replace(pusherURL(base, "private-check"), pusher.DefaultApp.Secret, "wrong", 1)
	code = Run(t.Context(), env, BuildInfo{}, []string{"check", "--publish-rate", "5/s", "--within", "2s", "--timeout", "2s", bad})
	if code != 1 || !strings.Contains(out.String(), "FAIL  events") || !strings.Contains(out.String(), "Invalid signature") ||
		!strings.Contains(out.String(), "FAIL  publish") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
}

// TestListenPusher: listen prints a Pusher channel's events (published
// here through /api/publish until listen has its two), and says where it
// listened without the secret.
func TestListenPusher(t *testing.T) {
	base := startMock(t, mock.Config{})
	stop := make(chan struct{})
	published := make(chan struct{})
	go func() {
		defer close(published)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			resp, err := http.Post(base+"/api/publish", "application/json", strings.NewReader(fmt.Sprintf(`{"channel":"private-listen","data":{"n":%d}}`, i)))
			if err == nil {
				resp.Body.Close()
			}
		}
	}()
	code, stdout, stderr := runListen(t, "", "-n", "2", "--json", pusherURL(base, "private-listen"))
	close(stop)
	<-published
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	got := lines(stdout)
	if len(got) != 2 || !strings.Contains(got[0], `"type":"message"`) || !strings.Contains(got[0], `{\"n\":`) {
		t.Errorf("stdout:\n%s", stdout)
	}
	if strings.Contains(stdout+stderr, pusher.DefaultApp.Secret) {
		t.Errorf("the secret is printed:\n%s%s", stdout, stderr)
	}
}

// TestPusherFlagsKeepSecrets: a bad --pusher-app is refused without
// echoing it, and a billed load is refused before anything is sent (no
// DNS lookup of the service: exit 2, not 3).
func TestPusherFlagsKeepSecrets(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--pusher-app", "a:b c:mysecret"},
		{"serve", "--pusher-app", "a:mysecret"},
		{"load", "-c", "2000", "-d", "60s", "--publish-rate", "10/s", "pushers://k:mysecret@ws-eu.pusher.com/c?app=1"},
	} {
		env, out, errOut := TestEnv()
		code := Run(t.Context(), env, BuildInfo{}, args)
		if code != 2 || strings.Contains(out.String()+errOut.String(), "mysecret") {
			t.Errorf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
	}
	env, _, errOut := TestEnv()
	Run(t.Context(), env, BuildInfo{}, []string{"load", "-c", "2000", "-d", "60s", "--publish-rate", "10/s", "pushers://k:mysecret@ws-eu.pusher.com/c?app=1"})
	if !strings.Contains(errOut.String(), "about 1200000 message deliveries (over 10000) on a billed service; add --yes") {
		t.Errorf("stderr:\n%s", errOut)
	}
}
