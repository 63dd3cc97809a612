package aistream

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/sse"
)

const anthropicExample = `{"model":"rtbench-mock-1","max_tokens":64,"messages":[{"role":"user","content":"Hello"}],"stream":true}`

// anthropicRequest is the part of a Messages request the mock reads; other
// fields are accepted and ignored. Unlike the real API, max_tokens is
// optional (absent: Tokens.Length).
type anthropicRequest struct {
	Model     string          `json:"model"`
	Messages  []message       `json:"messages"`
	System    json.RawMessage `json:"system"`
	MaxTokens *int64          `json:"max_tokens"`
	Stream    bool            `json:"stream"`
}

// Messages serves POST /v1/messages like Anthropic's Messages API. With
// "stream":true it sends the named events message_start, content_block_start
// and ping at once, one content_block_delta (text_delta) per chunk on
// schedule, then content_block_stop, message_delta (stop_reason "end_turn", or
// "max_tokens" when max_tokens cut the answer, and the output_tokens) and
// message_stop. Without it, it answers one message object once the whole
// answer is generated. Input tokens are the words of system and messages.
func (s *Server) Messages(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var req anthropicRequest
	g, rerr := s.anthropicGeneration(w, r, &req, start)
	if rerr != nil {
		s.writeJSON(w, rerr.status, appendAnthropicError(nil, rerr))
		return
	}
	defer s.opts.Stats.Opened(transport.AIStream)()

	enc := &anthropicEncoder{
		id:    string(appendID(nil, "msg_01", s.idSeed(start), 22)),
		model: req.Model,
	}
	stop := "end_turn"
	if g.cut {
		stop = "max_tokens"
	}
	if !req.Stream {
		if g.wait(r.Context()) != nil {
			return
		}
		s.writeJSON(w, http.StatusOK, enc.message(g.text(), stop, g.prompt, g.r+g.n))
		return
	}
	ev, err := s.openStream(w)
	if err != nil {
		return
	}
	first := contentBlockStart
	if g.r > 0 {
		first = thinkingBlockStart
	}
	for _, p := range [][]byte{enc.messageStart(g.prompt), first, pingEvent} {
		if ev.send(p) != nil {
			return
		}
	}
	err = g.stream(r.Context(), func(text []byte) error {
		return ev.send(enc.thinking(text))
	}, func(text []byte) error {
		if g.r > 0 && !enc.textStarted {
			enc.textStarted = true
			for _, p := range [][]byte{signatureDelta, thinkingBlockStop, textBlockStart} {
				if err := ev.send(p); err != nil {
					return err
				}
			}
		}
		if ev.f != nil {
			if err := ev.beforeContent(func() []byte { return enc.delta(nil) }, badEvent("content_block_delta", anthropicBadChunk)); err != nil {
				return err
			}
		}
		return ev.send(enc.delta(text))
	})
	if err != nil {
		return
	}
	blockStop := contentBlockStop
	if g.r > 0 {
		blockStop = textBlockStop
	}
	for _, p := range [][]byte{blockStop, enc.messageDelta(stop, g.r+g.n)} {
		if ev.send(p) != nil {
			return
		}
	}
	if ev.terminate() {
		ev.send(messageStop)
	}
}

func (s *Server) anthropicGeneration(w http.ResponseWriter, r *http.Request, req *anthropicRequest, start time.Time) (*generation, *requestError) {
	if err := readJSON(w, r, req, anthropicExample); err != nil {
		return nil, err
	}
	if len(req.Messages) == 0 {
		return nil, badRequest("messages", "messages: must be a non-empty array; send %s", anthropicExample)
	}
	prompt, rerr := promptWords(req.Messages)
	if rerr != nil {
		return nil, rerr
	}
	system, rerr := contentWords(req.System, "system")
	if rerr != nil {
		return nil, rerr
	}
	if req.Model, rerr = checkModel(req.Model, s.tok.Model); rerr != nil {
		return nil, rerr
	}
	limit, rerr := checkMaxTokens("max_tokens", req.MaxTokens)
	if rerr != nil {
		return nil, rerr
	}
	tok, rerr := s.tokens(r, nil)
	if rerr != nil {
		return nil, rerr
	}
	return newGeneration(tok, limit, prompt+system, start)
}

// Fixed events of every Anthropic stream.
var (
	contentBlockStart = sse.AppendEvent(nil, "", "content_block_start", []byte(`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`))
	pingEvent         = sse.AppendEvent(nil, "", "ping", []byte(`{"type":"ping"}`))
	contentBlockStop  = sse.AppendEvent(nil, "", "content_block_stop", []byte(`{"type":"content_block_stop","index":0}`))
	messageStop       = sse.AppendEvent(nil, "", "message_stop", []byte(`{"type":"message_stop"}`))

	// With reasoning tokens: a thinking block (index 0), then the text (index 1).
	thinkingBlockStart = sse.AppendEvent(nil, "", "content_block_start", []byte(`{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}`))
	signatureDelta     = sse.AppendEvent(nil, "", "content_block_delta", []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"cnRiZW5jaC1tb2Nr"}}`))
	thinkingBlockStop  = sse.AppendEvent(nil, "", "content_block_stop", []byte(`{"type":"content_block_stop","index":0}`))
	textBlockStart     = sse.AppendEvent(nil, "", "content_block_start", []byte(`{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}`))
	textBlockStop      = sse.AppendEvent(nil, "", "content_block_stop", []byte(`{"type":"content_block_stop","index":1}`))
)

// anthropicEncoder builds one response's events in reused buffers.
type anthropicEncoder struct {
	id, model   string
	data, out   []byte
	textStarted bool // the text block followed the thinking block
}

// thinking is a thinking_delta of the thinking block (index 0).
func (e *anthropicEncoder) thinking(text []byte) []byte {
	d := append(e.data[:0], `{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":`...)
	d = appendJSONString(d, text)
	e.data = append(d, "}}"...)
	return e.event("content_block_delta")
}

func (e *anthropicEncoder) event(name string) []byte {
	e.out = sse.AppendEvent(e.out[:0], "", name, e.data)
	return e.out
}

// appendMessage appends a message object up to its content array.
func (e *anthropicEncoder) appendMessage(d []byte) []byte {
	d = append(d, `{"id":`...)
	d = appendJSONString(d, e.id)
	d = append(d, `,"type":"message","role":"assistant","model":`...)
	d = appendJSONString(d, e.model)
	return append(d, `,"content":`...)
}

func appendAnthropicUsage(d []byte, input, output int) []byte {
	d = append(d, `"usage":{"input_tokens":`...)
	d = strconv.AppendInt(d, int64(input), 10)
	d = append(d, `,"output_tokens":`...)
	d = strconv.AppendInt(d, int64(output), 10)
	return append(d, '}')
}

// messageStart reports output_tokens 1, as the real API does before any
// text; message_delta carries the final count.
func (e *anthropicEncoder) messageStart(input int) []byte {
	d := append(e.data[:0], `{"type":"message_start","message":`...)
	d = e.appendMessage(d)
	d = append(d, `[],"stop_reason":null,"stop_sequence":null,`...)
	d = appendAnthropicUsage(d, input, 1)
	e.data = append(d, "}}"...)
	return e.event("message_start")
}

func (e *anthropicEncoder) delta(text []byte) []byte {
	d := append(e.data[:0], `{"type":"content_block_delta","index":`...)
	if e.textStarted {
		d = append(d, '1')
	} else {
		d = append(d, '0')
	}
	d = append(d, `,"delta":{"type":"text_delta","text":`...)
	d = appendJSONString(d, text)
	e.data = append(d, "}}"...)
	return e.event("content_block_delta")
}

func (e *anthropicEncoder) messageDelta(stop string, output int) []byte {
	d := append(e.data[:0], `{"type":"message_delta","delta":{"stop_reason":`...)
	d = appendJSONString(d, stop)
	d = append(d, `,"stop_sequence":null},`...)
	d = append(d, `"usage":{"output_tokens":`...)
	d = strconv.AppendInt(d, int64(output), 10)
	e.data = append(d, "}}"...)
	return e.event("message_delta")
}

// message is the non-streamed message object.
func (e *anthropicEncoder) message(text, stop string, input, output int) []byte {
	d := e.appendMessage(nil)
	d = append(d, `[{"type":"text","text":`...)
	d = appendJSONString(d, text)
	d = append(d, `}],"stop_reason":`...)
	d = appendJSONString(d, stop)
	d = append(d, `,"stop_sequence":null,`...)
	d = appendAnthropicUsage(d, input, output)
	return append(d, '}')
}

// appendAnthropicError renders e in Anthropic's error shape:
//
//	{"type":"error","error":{"type":"invalid_request_error","message":"…"}}
//
// (request_too_large for a body over the limit).
func appendAnthropicError(d []byte, e *requestError) []byte {
	kind := "invalid_request_error"
	if e.status == http.StatusRequestEntityTooLarge {
		kind = "request_too_large"
	}
	d = append(d, `{"type":"error","error":{"type":"`...)
	d = append(d, kind...)
	d = append(d, `","message":`...)
	d = appendJSONString(d, e.msg)
	return append(d, "}}"...)
}
