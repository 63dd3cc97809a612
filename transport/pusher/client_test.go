package pusher_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/pusher"
	"github.com/rtbench/rtbench/transport/transporttest"
)

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want pusher.Target
		err  string
	}{
		{"pusher://k@127.0.0.1:8080/news", pusher.Target{Host: "127.0.0.1:8080", REST: "http://127.0.0.1:8080", App: pusher.App{Key: "k"}, Channel: "news"}, ""},
		{"pushers://k:s@ws-eu.pusher.com/private-x?app=1&event=e&user=u", pusher.Target{TLS: true, Host: "ws-eu.pusher.com:443", REST: "https://api-eu.pusher.com:443",
			App: pusher.App{ID: "1", Key: "k", Secret: "s"}, Channel: "private-x", Event: "e", User: "u"}, ""},
		{"pusher://k@localhost/c?rest=api.local:81", pusher.Target{Host: "localhost:80", REST: "http://api.local:81", App: pusher.App{Key: "k"}, Channel: "c"}, ""},
		{"ws://k@h/c", pusher.Target{}, "want pusher://"},
		{"pusher://h/c", pusher.Target{}, "no app key"},
		{"pusher://k@h/", pusher.Target{}, "names no channel"},
		{"pusher://k@h/presence-x", pusher.Target{}, "presence channel: its subscription is signed with the app secret"},
		{"pusher://k:topsecret@h/a%20b", pusher.Target{}, `channel "a b"`},
		{"pusher://k:topsecret@h/c?cluster=eu", pusher.Target{}, `unknown parameter "cluster"`},
		{"pusher://k:topsecret@h:99999/c", pusher.Target{}, "invalid port"},
	} {
		got, err := pusher.ParseTarget(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseTarget(%q) = %v, want an error with %q", tc.in, err, tc.err)
			} else if strings.Contains(err.Error(), "topsecret") {
				t.Errorf("ParseTarget(%q): the error shows the secret: %v", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseTarget(%q) =\n%+v, %v\nwant\n%+v", tc.in, got, err, tc.want)
		}
	}
}

func target(t *testing.T, base, channel string) pusher.Target {
	t.Helper()
	tg, err := pusher.ParseTarget("pusher://" + testApp.Key + ":" + testApp.Secret + "@" + strings.TrimPrefix(base, "http://") + "/" + channel + "?app=" + testApp.ID)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// run runs c until cancel; done is closed when Run returns, *runErr then
// holding its error.
func run(t *testing.T, c *pusher.Client, rec *transporttest.Recorder) (cancel func(), done <-chan struct{}, runErr *error) {
	ctx, stop := context.WithCancel(context.Background())
	ch := make(chan struct{})
	var err error
	go func() {
		defer close(ch)
		err = c.Run(ctx, rec)
	}()
	t.Cleanup(func() {
		stop()
		<-ch
	})
	return stop, ch, &err
}

// A subscriber on each kind of channel gets what the publisher sends, in
// order, stamped with the publisher's seq and intended time and serve's
// sent_ns; cancel ends it promptly and cleanly.
func TestClientDelivery(t *testing.T) {
	_, base := startServer(t)
	for _, channel := range []string{"feed", "private-feed", "presence-feed"} {
		t.Run(channel, func(t *testing.T) {
			tg := target(t, base, channel)
			var rec transporttest.Recorder
			got := make(chan struct{})
			rec.OnEvent = func(n int, e *transport.Event) {
				if n == 5 {
					close(got)
				}
			}
			cancel, done, runErr := run(t, &pusher.Client{Target: tg, Reconnect: transport.Reconnect{Policy: transport.PolicyNever}}, &rec)
			transporttest.Eventually(t, wait, "subscribed", func() bool { c, _, _, _ := rec.Snapshot(); return len(c) == 1 })
			pub, err := pusher.NewPublisher(tg, nil)
			if err != nil {
				t.Fatal(err)
			}
			scheds := make([]time.Time, 5)
			for i := range scheds {
				scheds[i] = time.Now()
				if err := pub(context.Background(), uint64(i+1), scheds[i]); err != nil {
					t.Fatalf("publish %d: %v", i+1, err)
				}
			}
			select {
			case <-got:
			case <-time.After(wait):
				t.Fatal("5 events did not arrive")
			}
			cancel()
			select {
			case <-done:
				if *runErr != nil {
					t.Fatalf("Run: %v", *runErr)
				}
			case <-time.After(time.Second):
				t.Fatal("Run did not return within 1s of cancel")
			}
			connects, events, errs, closes := rec.Snapshot()
			if connects[0].Status != 101 || connects[0].Headers.Before(connects[0].Start) {
				t.Errorf("connect %+v", connects[0])
			}
			for i, e := range events {
				if e.Type != pusher.DefaultPublishEvent || !e.Stamp.HasSeq || e.Stamp.Seq != uint64(i+1) ||
					e.Stamp.SchedNS != scheds[i].UnixNano() || !e.Stamp.HasSent {
					t.Errorf("event %d: type %s stamp %+v data %s", i, e.Type, e.Stamp, e.Data)
				}
			}
			if len(errs) != 0 || len(closes) != 1 || !closes[0].Clean || closes[0].Reconnect {
				t.Errorf("errors %v, closes %+v: want none and one clean close", errs, closes)
			}
		})
	}
}

// With every event reported, seq is serve's number of the message in the
// channel, not the publisher's: publishes in flight together reach the
// channel in any order, and a failed one is not the subscriber's loss.
func TestClientSeqFromServe(t *testing.T) {
	_, base := startServer(t)
	tg := target(t, base, "numbered")
	var rec transporttest.Recorder
	got := make(chan struct{})
	rec.OnEvent = func(n int, e *transport.Event) {
		if n == 3 {
			close(got)
		}
	}
	run(t, &pusher.Client{Target: tg}, &rec)
	transporttest.Eventually(t, wait, "subscribed", func() bool { c, _, _, _ := rec.Snapshot(); return len(c) == 1 })
	pub, err := pusher.NewPublisher(tg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []uint64{5, 2, 9} {
		if err := pub(context.Background(), n, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-got:
	case <-time.After(wait):
		t.Fatal("3 events did not arrive")
	}
	_, events, _, _ := rec.Snapshot()
	for i, e := range events {
		if !e.Stamp.HasSeq || e.Stamp.Seq != uint64(i+1) || !e.Stamp.HasSched {
			t.Errorf("event %d: stamp %+v, want seq %d (serve's) and the data's sched_ns", i, e.Stamp, i+1)
		}
	}
}

// Messages of other doors arrive with serve's stamps (the hub's seq and
// sched_ns), and event= keeps only the named event.
func TestClientHubStampsAndEventFilter(t *testing.T) {
	srv, base := startServer(t)
	tg := target(t, base, "mixed")
	tg.Event = "keep"
	var rec transporttest.Recorder
	got := make(chan struct{})
	rec.OnEvent = func(n int, e *transport.Event) {
		if n == 2 {
			close(got)
		}
	}
	run(t, &pusher.Client{Target: tg}, &rec)
	transporttest.Eventually(t, wait, "subscribed", func() bool { c, _, _, _ := rec.Snapshot(); return len(c) == 1 })
	for _, ev := range []string{"drop", "keep", "drop", "keep"} {
		trigger(t, base, "mixed", ev, `{"n":1}`)
	}
	select {
	case <-got:
	case <-time.After(wait):
		t.Fatal("2 events did not arrive")
	}
	_, events, _, _ := rec.Snapshot()
	for i, e := range events {
		if e.Type != "keep" || e.Stamp.Seq != uint64(2*i+2) || !e.Stamp.HasSched || string(e.Data) != `{"n":1}` {
			t.Errorf("event %d: %s seq %d data %s", i, e.Type, e.Stamp.Seq, e.Data)
		}
	}
	_ = srv
}

// A refused subscription (a wrong secret) and an unknown key are fatal
// pusher_error failures, not reconnect loops; a server shutdown (4200) is
// reconnected.
func TestClientFailures(t *testing.T) {
	_, base := startServer(t)
	host := strings.TrimPrefix(base, "http://")
	for _, tc := range []struct {
		url  string
		code int
	}{
		{"pusher://" + testApp.Key + ":wrong@" + host + "/private-x", 0},
		{"pusher://nokey@" + host + "/x", pusher.CodeAppNotFound},
	} {
		tg, err := pusher.ParseTarget(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		var rec transporttest.Recorder
		err = (&pusher.Client{Target: tg, Reconnect: transport.Reconnect{Policy: transport.PolicyAlways, Initial: time.Millisecond}}).Run(context.Background(), &rec)
		var te *transport.Error
		if !errors.As(err, &te) || te.Class != transport.ClassPusherError || te.Code != tc.code || !te.Fatal {
			t.Errorf("%s: Run = %v (%+v), want a fatal pusher_error %d", transport.RedactURL(tc.url), err, te, tc.code)
		}
		if c, _, errs, _ := rec.Snapshot(); len(c) != 0 || len(errs) != 1 {
			t.Errorf("%s: %d connects, errors %v: want none and one", transport.RedactURL(tc.url), len(c), errs)
		}
	}
}

func TestClientReconnectsAfterShutdown(t *testing.T) {
	base, shutdown := serveMock(t)
	var rec transporttest.Recorder
	tg := target(t, base, "news")
	_, done, runErr := run(t, &pusher.Client{Target: tg, Reconnect: transport.Reconnect{Initial: time.Millisecond, Floor: time.Millisecond, Cap: 5 * time.Millisecond, MaxAttempts: 2}}, &rec)
	transporttest.Eventually(t, wait, "subscribed", func() bool { c, _, _, _ := rec.Snapshot(); return len(c) == 1 })
	shutdown()
	select {
	case <-done:
		err := *runErr
		var te *transport.Error
		if !errors.As(err, &te) || te.Class != transport.ClassRefused {
			t.Fatalf("Run = %v, want it to give up on conn_refused after the server went", err)
		}
	case <-time.After(wait):
		t.Fatal("Run did not end after the server went away")
	}
	_, _, errs, closes := rec.Snapshot()
	if len(closes) != 1 || !closes[0].Reconnect || closes[0].Code != pusher.CodeReconnect {
		t.Errorf("closes %+v, want one with code 4200 and a reconnect", closes)
	}
	if len(errs) < 2 || errs[0].Class != transport.ClassPusherError || errs[0].Code != pusher.CodeReconnect || errs[0].Fatal {
		t.Errorf("errors %+v, want a non-fatal pusher_error 4200 first", errs)
	}
}
