// Package ws is rtbench's WebSocket pattern. Handler serves the mock server's
// GET /ws: one connection carries a tick stream on the server-wide timeline,
// an echo of every message the client sends (for round-trip measurement) and,
// with ?channel=X, a chat room on the pubsub hub shared with the SSE and
// polling routes. It is built on github.com/coder/websocket with compression
// off, a 1 MiB read limit and no allocation per pushed message.
package ws
