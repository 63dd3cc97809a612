// Package transport holds the small vocabulary that rtbench's wire protocols
// share: the four real-time patterns, the deterministic tick timeline that the
// mock endpoints emit, the JSON payload that carries server timestamps, and the
// counters the mock server exposes.
//
// Each protocol lives in its own sub-package (sse, ws, poll, aistream) with
// its mock handler and its client side next to each other. pubsub is the
// channel hub the push and polling routes share, and mock assembles every
// route into the server behind `rtbench serve`.
//
// Nothing under transport imports bench, report, lipgloss or cobra.
package transport
