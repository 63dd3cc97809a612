// Package fault is the fault model of `rtbench serve`: one Spec, parsed from a
// small grammar (see Help) out of ?fault= query parameters, X-RTBench-Fault
// headers or the --fault flag, and applied by every route it makes sense for.
//
// This package owns the grammar, the server-wide default applied to a seeded
// share of requests, and the HTTP-level faults (status, content type, delay
// before headers, reset before the response, slow reads of the request body),
// in the Injector middleware. The framing faults live next to each protocol's
// writer and find the Spec with Of: event-stream faults in transport/sse's
// Stream, AI-chunk faults in transport/aistream, WebSocket faults in
// transport/ws's session. A request without a fault takes none of these paths.
package fault
