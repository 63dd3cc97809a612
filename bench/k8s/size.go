package k8s

import (
	"fmt"
	"math"
)

// Size is the load of the whole run, all agents together, as the load
// flags give it.
type Size struct {
	Sessions    int     // peak sessions held at once (-c, or the highest --stages target)
	Rate        float64 // peak requests/s of the open model (--rate, or its highest stage); 0 when closed
	Ramp        float64 // sessions started per second (--ramp); 0 when all at once
	MaxInFlight int     // open model: requests in flight at most per agent (--max-in-flight)
	Heavy       bool    // sessions on coder/websocket (Pusher, Ably), not the lean paths
}

// The sizing rule's figures, from docs/BENCHMARKS.md (measured on rtbench
// load itself): held SSE sessions settle at ~24 KiB of RSS each after a
// 10-minute soak (15.4–15.8 KiB in a 60 s run), lean WebSocket sessions at
// 12.8 KiB, Pusher and Ably sessions (coder/websocket) at 91.6 KiB; a
// polling request costs rtbench 118–182 µs of CPU.
const (
	BaseMemory        = 64 << 20 // the process with no session (~13.5 MiB measured) and its GC headroom
	SessionMemory     = 32 << 10 // per lean session (SSE, WebSocket, polling, AI): 24 KiB measured + headroom
	HeavySessionMem   = 96 << 10 // per Pusher or Ably session: 91.6 KiB measured
	BaseMilliCPU      = 250      // the process, its 1 ms self-check ticker and the report
	SessionsPerCore   = 10_000   // held sessions one core carries (idle reads, heartbeats, reconnects)
	RequestMicroCPU   = 200      // one request or session handshake: 118–182 µs measured
	openRequestWindow = 10       // s: an open-model request is counted as in flight for at most this long
)

// Resources are one agent's container requests and limits.
type Resources struct {
	MilliCPU, MilliCPULimit int64 // millicores
	Memory, MemoryLimit     int64 // bytes
	Sessions                int   // the sessions (or requests in flight) the memory is sized for
}

// PerAgent sizes one of agents agents, the one with the largest share (the
// split gives the remainder to the first agents):
//
//	sessions = ⌈Sessions/agents⌉, or in the open model
//	           min(MaxInFlight, ⌈Rate/agents⌉ × 10 s)
//	memory   = 64 MiB + sessions × 32 KiB (96 KiB for Pusher and Ably),
//	           rounded up to 16 MiB; limit 2 × memory (Go's collector lets
//	           the heap grow to twice the live heap)
//	cpu      = 250m + sessions/10,000 cores + (Rate or Ramp)/agents × 200 µs;
//	           limit 2 × cpu, at least one core
//
// A CPU limit that throttles the agent shows as a saturated generator (the
// self-check in every result), which fails its thresholds rather than
// reporting the agent's own stalls as the target's latency.
func (s Size) PerAgent(agents int) Resources {
	if agents < 1 {
		agents = 1
	}
	sessions := ceilDiv(s.Sessions, agents)
	ops := s.Ramp / float64(agents)
	if s.Rate > 0 {
		perAgent := s.Rate / float64(agents)
		inFlight := int(math.Ceil(perAgent * openRequestWindow))
		if s.MaxInFlight > 0 {
			inFlight = min(inFlight, s.MaxInFlight)
		}
		sessions = max(sessions, inFlight)
		ops = perAgent
	}
	per := int64(SessionMemory)
	if s.Heavy {
		per = HeavySessionMem
	}
	mem := roundUp(BaseMemory+int64(sessions)*per, 16<<20)
	cpu := BaseMilliCPU + int64(math.Ceil(float64(sessions)*1000/SessionsPerCore)) +
		int64(math.Ceil(ops*RequestMicroCPU/1000))
	return Resources{
		MilliCPU: cpu, MilliCPULimit: max(2*cpu, 1000),
		Memory: mem, MemoryLimit: 2 * mem,
		Sessions: sessions,
	}
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func roundUp(v, unit int64) int64 { return (v + unit - 1) / unit * unit }

// cpuQuantity is millicores as a Kubernetes quantity: "2" or "1500m".
func cpuQuantity(m int64) string {
	if m%1000 == 0 {
		return fmt.Sprint(m / 1000)
	}
	return fmt.Sprintf("%dm", m)
}

// memQuantity is bytes (a multiple of 1 MiB) as a Kubernetes quantity.
func memQuantity(b int64) string {
	if b%(1<<30) == 0 {
		return fmt.Sprintf("%dGi", b>>30)
	}
	return fmt.Sprintf("%dMi", b>>20)
}
