package sse

import (
	"testing"

	"github.com/rtbench/rtbench/transport"
)

// TestProtocolNew: --stamp and listen --json's comments reach the client
// through the table.
func TestProtocolNew(t *testing.T) {
	stamp := &transport.StampSpec{Path: "data.ts"}
	c := Protocol.New(transport.SessionOptions{Comments: true, Stamp: stamp}).(*Client)
	if !c.Comments || c.Stamp != stamp {
		t.Errorf("comments %v, stamp %v: want true, %v", c.Comments, c.Stamp, stamp)
	}
}
