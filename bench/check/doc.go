// Package check is the measurement behind `rtbench check`: a Spec names an
// endpoint, how to call it and what must hold; Run opens the subscriptions
// (one, or Concurrency of them at once), watches them through the same
// clients as `rtbench listen`, stops as soon as every assertion is decided or
// the timeout hits, and returns a Result with one Outcome per assertion and
// per deployment-fault detector, each with its measured value, its bound and,
// when it fails, the likely cause and what to do.
//
// Assertions: the handshake (status, or 101 for WebSockets), the content
// type, at least N events within T, the first event within T, --expect
// conditions on the events' JSON (transport/match), an AI stream's time to
// first token and its terminator, a WebSocket echo, and load thresholds
// (bench.ParseThreshold), evaluated on the same HdrHistograms as `rtbench
// load` by running the sessions through bench.Engine.
//
// Detectors run on every check of an event stream or WebSocket and name the
// classic deployment faults: events delivered in bursts (see Burst), a
// compressed or non-streamed (Content-Length) event stream, missing
// anti-buffering headers, invalid UTF-8. LoadFile reads several checks from
// a small YAML file (docs/check.md). Nothing here prints: package report
// renders a Result as text, JSON or JUnit XML.
package check
