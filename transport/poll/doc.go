// Package poll holds the mock server's polling endpoints: plain, conditional
// and long polling of a tick timeline or a pub/sub channel, the channel
// message feed a polling client resumes with ?since=N, and the "job status
// polling" API (POST a job, then poll it until it completes).
//
// Every endpoint answers with an ETag for its current state and a 304 Not
// Modified when If-None-Match still matches, and every endpoint long-polls
// with ?wait=D (a Go duration, at most Handler.MaxWait): the request is held
// until the state changes, the wait elapses or the request context ends. No
// goroutine runs between requests: tick and job states are computed from the
// clock (transport.Timeline, a job's creation time), and a held request
// sleeps on one timer set to the exact time of the next change, or on the
// pubsub hub's broadcast channel.
//
// Handler.Register shows the routes; the mock server registers the same
// methods itself behind its CORS and connection-cap middleware.
//
// # Client
//
// Client is the polling session behind `rtbench listen` and `rtbench load`:
// requests on a fixed-rate schedule of intended times (a slow response makes
// the next ones late, visible as Start − Intended, without moving the grid),
// conditional by default (If-None-Match, If-Modified-Since; a 304 is no
// change), or long-polling with wait= and since=. rtbench's channel message
// pages are read message by message with no gap or duplicate. A change of
// state is an Event; every request is an Exchange. Network errors, 408, 429
// and 5xx are retried with backoff; other 4xx end the session; 204 ends it
// cleanly.
//
// With Client.Lean, a plain http:// session sends its polls without
// net/http: its own connection, request bytes built once, a strict HTTP/1.x
// response reader (leanhttp.go) and no allocation per request (see Lean for
// what stays on net/http); Lean.Pool lets one-request sessions share
// keep-alive connections.
package poll
