package ws

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/bounds"
	"github.com/rtbench/rtbench/transport/pubsub"
)

// MinRate is the lowest non-zero tick rate accepted (one tick per 1000 s),
// the same on every route.
const MinRate = bounds.MinRate

// maxJitter bounds the jitter parameter, as on /sse.
const maxJitter = time.Hour

// params are one connection's query parameters, validated.
type params struct {
	rate    float64       // ticks per second; 0 = no ticks
	jitter  time.Duration // deterministic per-seq delay
	spread  time.Duration // this connection's ticks shifted by up to this (Timeline.Spread)
	size    int           // tick payload bytes, padded
	count   uint64        // close with 1000 after this many ticks; 0 = no limit
	channel string        // room to join; "" = none
	binary  bool          // push ticks and room messages as binary frames
}

// parseParams validates the query of a /ws request. Its errors name the
// parameter, quote the value and say what to send instead. Unknown
// parameters are ignored, as on /sse.
func parseParams(q url.Values, maxRate float64, hub bool) (params, error) {
	var p params
	var err error
	p.channel = q.Get("channel")
	if p.channel != "" {
		if !pubsub.ValidChannel(p.channel) {
			return p, fmt.Errorf("channel=%q: %v", p.channel, pubsub.ErrBadChannel)
		}
		if !hub {
			return p, fmt.Errorf("channel=%q: this server has no channels; leave channel out", p.channel)
		}
	}
	if p.channel == "" {
		p.rate = 1
	}
	if q.Has("rate") {
		if p.rate, err = (bounds.Rate{Name: "rate", Unit: "ticks", Max: maxRate, Zero: "no ticks"}).Parse(q.Get("rate")); err != nil {
			return p, err
		}
	}
	if q.Has("jitter") {
		if p.jitter, err = bounds.Upto("jitter", maxJitter, "5ms").Parse(q.Get("jitter")); err != nil {
			return p, err
		}
	}
	if q.Has("spread") {
		if p.spread, err = transport.ParseSpread(q.Get("spread"), p.rate); err != nil {
			return p, err
		}
	}
	if v := q.Get("size"); v != "" {
		if p.size, err = strconv.Atoi(v); err != nil || p.size < 0 || p.size > transport.MaxPayload {
			return p, fmt.Errorf("size=%q: want tick payload bytes from 0 to %d", v, transport.MaxPayload)
		}
	}
	if v := q.Get("count"); v != "" {
		if p.count, err = strconv.ParseUint(v, 10, 64); err != nil {
			return p, fmt.Errorf("count=%q: want a whole number of ticks (0 = no limit)", v)
		}
		if p.count > 0 && p.rate == 0 {
			return p, fmt.Errorf("count=%q counts ticks, but rate is 0: add rate=N or leave count out", v)
		}
	}
	if v := q.Get("binary"); v != "" {
		if p.binary, err = strconv.ParseBool(v); err != nil {
			return p, fmt.Errorf("binary=%q: want 1 (binary frames) or 0 (text frames)", v)
		}
	}
	return p, nil
}

// writeError answers status with a JSON error body {"error":"..."}.
func writeError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(map[string]string{"error": msg})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
