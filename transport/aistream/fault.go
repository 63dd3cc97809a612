package aistream

import (
	"github.com/rtbench/rtbench/transport/fault"
	"github.com/rtbench/rtbench/transport/sse"
)

// Truncated chunks sent by the bad-json fault, one per API: each ends inside
// a JSON string, as a chunk cut by a broken proxy would.
const (
	openAIBadChunk    = `{"id":"chatcmpl-bad","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"trunc`
	anthropicBadChunk = `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"trunc`
	chatBadChunk      = `{"text":"trunc`
)

// aiFault applies the AI-stream faults of a fault.Spec: an empty first
// delta, a truncated JSON chunk after N content chunks, no terminator.
// Event-stream faults (line style, stall, reset …) act below it, in the
// sse.Stream.
type aiFault struct {
	spec   fault.Spec
	chunks int // content chunks sent
	empty  bool
	bad    bool
}

// beforeContent sends the injected chunks due before the next content chunk.
// empty encodes the API's empty delta; bad is a truncated chunk, framed
// (badEvent for the event streams, a line for the line formats).
func (e *events) beforeContent(empty func() []byte, bad []byte) error {
	f := e.f
	if f.spec.EmptyDelta && !f.empty {
		f.empty = true
		if err := e.send(empty()); err != nil {
			return err
		}
	}
	if f.spec.BadJSON && !f.bad && f.chunks == f.spec.BadJSONAfter {
		f.bad = true
		if err := e.send(bad); err != nil {
			return err
		}
	}
	f.chunks++
	return nil
}

// terminate reports whether the stream's terminator ([DONE], message_stop)
// is to be sent.
func (e *events) terminate() bool { return e.f == nil || !e.f.spec.NoDone }

func badEvent(name, data string) []byte { return sse.AppendEvent(nil, "", name, []byte(data)) }
