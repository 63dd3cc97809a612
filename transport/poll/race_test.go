//go:build race

package poll

// raceEnabled: under -race sync.Pool drops items at random, so allocation
// counts are not exact.
const raceEnabled = true
