//go:build race

package bench_test

// raceEnabled: the race detector's instrumentation makes frames larger and
// every step slower, so stack sizes are not those of the real binary.
const raceEnabled = true
