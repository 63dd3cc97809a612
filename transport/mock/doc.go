// Package mock is `rtbench serve`: one HTTP server with a mock endpoint of
// every pattern (/sse, /ws, /poll, the jobs and channels APIs, the AI
// stream routes), a shared pub/sub hub, injected faults, connection caps,
// health and Prometheus metrics, and a graceful shutdown. Tests outside
// the package start it with mocktest.Start.
package mock
