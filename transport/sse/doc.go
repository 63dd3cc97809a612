// Package sse is Server-Sent Events, both sides: Parser reads an event
// stream by the WHATWG rules (one BOM stripped, CR/LF/CRLF, per-line and
// per-event caps with typed errors), Client is one subscriber session
// (Last-Event-ID on reconnect, retry: clamped, no reconnect on a bad status
// or content type, idle timeout, a Lean path for held plain-http streams
// under load), and Handler and Writer serve the mock's /sse ticks and
// channels with faults. Protocol is its row of the protocol table
// (transport/client).
package sse
