// Package ws is rtbench's WebSocket pattern, both sides.
//
// Handler serves the mock server's GET /ws: one connection carries a tick
// stream on the server-wide timeline, an echo of every message the client
// sends (for round-trip measurement) and, with ?channel=X, a chat room on the
// pubsub hub shared with the SSE and polling routes.
//
// Client is the session behind `rtbench listen` and `rtbench load`: it dials
// with the shared HTTP client (TLS, proxies, redirects), reads into one
// reused buffer up to a read limit (1 MiB by default; bigger closes with
// 1009, as soon as a frame's header declares more), sends an Outbox, keeps
// the connection alive with pings whose round trips it reports, records
// every close code and reason (a close is clean only when the server's close
// frame came back), and reconnects as its policy says. It holds the server
// to RFC 6455 on both paths with the same rules (frame.go): a masked frame,
// RSV bits, a reserved opcode, a bad control frame or close code fail the
// connection with 1002, and text or a close reason that is not UTF-8 with
// 1007; under coder/websocket, which checks less of this as a client,
// frameGuard applies them to the bytes before it reads them.
//
// Both are built on github.com/coder/websocket with compression off by
// default and no allocation per message once warm. For held sessions
// (`rtbench load`), Client.Lean switches plain ws:// connections without a
// proxy or compression to lean.go: rtbench's own minimal RFC 6455 client
// (handshake checked, frames read through one 512-byte buffer that grows
// only for big messages, control frames between fragments, masked writes),
// about a third of the memory per session; anything else falls back to
// coder/websocket.
package ws
