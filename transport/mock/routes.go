package mock

import (
	"net/http"

	"github.com/rtbench/rtbench/transport/ably"
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
	s.ably().Register(mux)
}

// ably is the Ably protocol's handler (REST routes, and the realtime
// WebSocket at GET /), built once from the Config.
func (s *Server) ably() *ably.Handler {
	s.ablyOnce.Do(func() {
		s.ablyH = &ably.Handler{Hub: s.hub, Stats: s.stats, Keys: s.cfg.AblyKeys, Instance: s.cfg.AblyInstance,
			OriginPatterns: s.cfg.Origins, WriteTimeout: s.cfg.WriteTimeout}
	})
	return s.ablyH
}

// root is GET /: an Ably realtime connection when it is a WebSocket
// upgrade, else index.
func (s *Server) root(index http.Handler) http.Handler { return s.ably().Root(index) }
