package bench

import "math"

// HTTP2Result is how a run that spoke HTTP/2 used its connections: the
// sessions' streams multiplexed over few connections, as a browser's
// EventSources share one connection per origin. It counts the whole run
// (the warm-up request of each connection included, but not in Streams),
// not only its measured part: connections are opened at its start.
type HTTP2Result struct {
	// ConnectionsAsked is the connections per origin the run asked for
	// (load --h2-connections, times the source addresses).
	ConnectionsAsked int `json:"connections_asked"`
	// ConnectionsOpened is the TCP connections rtbench dialed; more than
	// asked when the server's SETTINGS_MAX_CONCURRENT_STREAMS filled one,
	// or when connections were lost and dialed again.
	ConnectionsOpened int64 `json:"connections_opened"`
	// ConnectionsPeak is the most connections open at once.
	ConnectionsPeak int64 `json:"connections_peak"`
	// Streams is the requests answered over HTTP/2 (each a stream): held
	// sessions' streams, reconnects, polls and AI requests.
	Streams int64 `json:"streams"`
	// StreamsPerConnection is Streams / ConnectionsOpened.
	StreamsPerConnection float64 `json:"streams_per_connection"`
}

// NewHTTP2Result fills the ratio.
func NewHTTP2Result(asked int, opened, peak, streams int64) *HTTP2Result {
	h := &HTTP2Result{ConnectionsAsked: asked, ConnectionsOpened: opened, ConnectionsPeak: peak, Streams: streams}
	h.ratio()
	return h
}

func (h *HTTP2Result) ratio() {
	h.StreamsPerConnection = 0
	if h.ConnectionsOpened > 0 {
		h.StreamsPerConnection = math.Round(float64(h.Streams)/float64(h.ConnectionsOpened)*100) / 100
	}
}

// mergeHTTP2 adds b to a (either may be nil): each machine's connections
// are its own, so every count is summed.
func mergeHTTP2(a, b *HTTP2Result) *HTTP2Result {
	if b == nil {
		return a
	}
	out := &HTTP2Result{}
	if a != nil {
		*out = *a
	}
	out.ConnectionsAsked += b.ConnectionsAsked
	out.ConnectionsOpened += b.ConnectionsOpened
	out.ConnectionsPeak += b.ConnectionsPeak
	out.Streams += b.Streams
	out.ratio()
	return out
}
