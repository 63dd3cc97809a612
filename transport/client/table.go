// Package client is rtbench's protocol table: one row per protocol, and
// everything that goes from a URL and a mode to a session. It parses a
// mode (Lookup), checks a URL (Scheme), detects the protocol from a URL and
// the first response (Detect), checks that a target can be reached
// (Reachable), and builds sessions (Protocol.New with one
// transport.SessionOptions). `rtbench listen`, `load`, `compare` and
// bench/check all ask it, and none of them imports a protocol package.
//
// Adding a protocol: write its package (transport/NAME) with a client that
// implements transport.Session and an exported transport.Protocol row
// (Name, Pattern, how detection recognises it, New), then add that row to
// table below: one line. Detection asks the rows in table order.
package client

import (
	"strings"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/aistream"
	"github.com/rtbench/rtbench/transport/poll"
	"github.com/rtbench/rtbench/transport/pusher"
	"github.com/rtbench/rtbench/transport/sse"
	"github.com/rtbench/rtbench/transport/ws"
)

// table is every protocol rtbench speaks, in detection order: polling,
// which claims any answer, comes last.
var table = []*transport.Protocol{
	&ws.Protocol,
	&sse.Protocol,
	&aistream.Protocol,
	&pusher.Protocol,
	&poll.Protocol,
}

// Protocols lists the table's rows in order.
func Protocols() []*transport.Protocol { return table }

// Names is the protocols' names, in table order: "sse, ws, poll or ai" for
// help texts and errors.
func Names() string {
	names := make([]string, len(table))
	for i, p := range table {
		names[i] = p.Name
	}
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// Lookup returns the protocol named name (a --mode value), or nil.
func Lookup(name string) *transport.Protocol {
	for _, p := range table {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// ForPattern returns the table's first row of pattern p (the pattern's own
// protocol; pusher shares ws's), or nil.
func ForPattern(p transport.Pattern) *transport.Protocol {
	for _, row := range table {
		if row.Pattern == p {
			return row
		}
	}
	return nil
}
