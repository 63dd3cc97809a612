//go:build !unix

package bench

import "time"

// processCPU is not measured on this platform.
func processCPU() (time.Duration, bool) { return 0, false }

// maxRSS is not measured on this platform.
func maxRSS() (int64, bool) { return 0, false }
