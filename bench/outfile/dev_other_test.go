//go:build unix && !linux

package outfile

// nullDev is device 3,2 (the BSDs' and macOS's null device) in their
// encoding (major<<24 | minor).
const nullDev = 3<<24 | 2
