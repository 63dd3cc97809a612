package poll_test

import (
	"github.com/rtbench/rtbench/transport/poll"
)

// paths are the two ways a session sends its polls: the tests that take
// them run on both, which must behave alike.
var paths = []struct {
	name string
	lean *poll.Lean
}{
	{"net-http", nil},
	{"lean", &poll.Lean{}},
}
