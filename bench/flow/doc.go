// Package flow runs scenarios: a YAML file (docs/scenarios.md) lists the
// steps each session takes — request (capture values from the JSON answer or
// a header), poll until a condition holds, subscribe through the protocol
// table (SSE, WebSocket, AI streams, Pusher, Ably) and send, sleep or think,
// repeat — with ${var} substitution of the captured values in later steps.
//
// Parse reads and validates a scenario (errors name the file, the line and
// the step); Job compiles `rtbench load --job` into one. A Session runs the
// flow for the load engine: every step reports a bench.StepSample under its
// index in Scenario.StepNames, the whole pass a Flow latency, and the
// events of subscribe steps go to the engine's recorder exactly as a plain
// `rtbench load` session's do. Steps the run's end cuts are reported cut
// off, never as completed work. Nothing here prints.
package flow
