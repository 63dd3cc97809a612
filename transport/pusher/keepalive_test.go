package pusher_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/rtbench/rtbench/transport/pubsub"
	"github.com/rtbench/rtbench/transport/pusher"
)

// A client silent for the activity timeout gets pusher:ping; one that
// answers stays connected and is pinged again, one that does not is closed
// with 4201.
func TestKeepalive(t *testing.T) {
	s := &pusher.Server{Apps: []pusher.App{testApp}, Hub: pubsub.New(pubsub.Options{}),
		ActivityTimeout: 20 * time.Millisecond, PongTimeout: 20 * time.Millisecond}
	mux := http.NewServeMux()
	s.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	for _, answer := range []bool{true, false} {
		p := &peer{t: t, c: dial(t, srv.URL, "/app/"+testApp.Key+"?protocol=7")}
		if f := p.next(); f.Event != pusher.EventConnectionEstablished {
			t.Fatalf("got %s", f.Event)
		}
		if f := p.next(); f.Event != pusher.EventPing {
			t.Fatalf("got %s, want pusher:ping after the activity timeout", f.Event)
		}
		if !answer {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			_, _, err := p.c.Read(ctx)
			cancel()
			if cs := websocket.CloseStatus(err); int(cs) != pusher.CodePongTimeout {
				t.Fatalf("unanswered ping: %v, want close 4201", err)
			}
			continue
		}
		for range 2 {
			p.send(map[string]any{"event": "pusher:pong", "data": map[string]any{}})
			if f := p.next(); f.Event != pusher.EventPing {
				t.Fatalf("got %s, want the next pusher:ping", f.Event)
			}
		}
		p.c.Close(websocket.StatusNormalClosure, "")
	}
}
