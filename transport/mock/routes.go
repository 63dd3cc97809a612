package mock

import (
	"net/http"

	"github.com/rtbench/rtbench/transport/aistream"
	"github.com/rtbench/rtbench/transport/poll"
	"github.com/rtbench/rtbench/transport/pusher"
	"github.com/rtbench/rtbench/transport/ws"
)

// patternRoutes registers the WebSocket, polling and AI-stream routes, each
// package's handlers configured from the one Config.
func (s *Server) patternRoutes(mux *http.ServeMux) {
	c := s.cfg
	mux.Handle("GET /ws", &ws.Handler{
		Hub: s.hub, Stats: s.stats, Epoch: c.Epoch,
		OriginPatterns: c.Origins, WriteTimeout: c.WriteTimeout,
	})
	p := &poll.Handler{Hub: s.hub, Stats: s.stats, Epoch: c.Epoch, WriteTimeout: c.WriteTimeout, Jobs: c.Jobs}
	p.Register(mux)
	ai := aistream.New(aistream.Options{Tokens: c.Tokens, Stats: s.stats, WriteTimeout: c.WriteTimeout})
	for _, r := range ai.Routes() {
		mux.Handle(r.Pattern, r.Handler)
	}
	(&pusher.Server{Apps: c.PusherApps, Hub: s.hub, Stats: s.stats, OriginPatterns: c.Origins, WriteTimeout: c.WriteTimeout}).Register(mux)
}
