//go:build race

package match

// raceEnabled: under -race sync.Pool drops items at random, so allocation
// counts are not exact.
const raceEnabled = true
