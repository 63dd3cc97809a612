package aistream

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/sse"
)

// PatternResponses is the OpenAI Responses API route.
const PatternResponses = "POST /v1/responses"

const responsesExample = `{"model":"rtbench-mock-1","input":"Hello","stream":true}`

// responsesRequest is the part of a Responses request the mock reads; other
// fields (tools, reasoning, text …) are accepted and ignored.
type responsesRequest struct {
	Model           string          `json:"model"`
	Input           json.RawMessage `json:"input"`
	Instructions    string          `json:"instructions"`
	Stream          bool            `json:"stream"`
	MaxOutputTokens *int64          `json:"max_output_tokens"`
}

// Responses serves POST /v1/responses like OpenAI's Responses API. With
// "stream": true it sends response.created and response.in_progress at
// once; with reasoning tokens a reasoning item whose summary streams as
// response.reasoning_summary_text.delta events; then a message item:
// response.output_item.added, response.content_part.added, one
// response.output_text.delta per chunk on schedule, the .done events, and
// response.completed with the usage (output_tokens_details.reasoning_tokens)
// — or response.incomplete when max_output_tokens cut the answer. Every
// event carries its sequence_number. Without "stream", it answers the
// response object once the whole answer is generated. input is a string or
// an array of messages; its words (and the instructions') are the input
// tokens.
func (s *Server) Responses(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var req responsesRequest
	g, rerr := s.responsesGeneration(w, r, &req, start)
	if rerr != nil {
		s.writeJSON(w, rerr.status, appendOpenAIError(nil, rerr))
		return
	}
	defer s.opts.Stats.Opened(transport.AIStream)()
	seed := s.idSeed(start)
	e := &responsesEncoder{
		id:      string(appendID(nil, "resp_", seed, 48)),
		msgID:   string(appendID(nil, "msg_", seed^1, 48)),
		rsID:    string(appendID(nil, "rs_", seed^2, 48)),
		model:   req.Model,
		created: start.Unix(),
		prompt:  g.prompt,
		g:       g,
	}
	if !req.Stream {
		if g.wait(r.Context()) != nil {
			return
		}
		s.writeJSON(w, http.StatusOK, e.response(nil, e.status(), true))
		return
	}
	ev, err := s.openStream(w)
	if err != nil {
		return
	}
	send := func(p []byte) bool { return ev.send(p) == nil }
	if !send(e.event("response.created", []byte(`"response":`), e.response(nil, "in_progress", false))) ||
		!send(e.event("response.in_progress", []byte(`"response":`), e.response(nil, "in_progress", false))) {
		return
	}
	msgIndex := 0
	if g.r > 0 {
		msgIndex = 1
		if !send(e.event("response.output_item.added", []byte(`"output_index":0,"item":`), e.reasoningItem(nil, false))) ||
			!send(e.event("response.reasoning_summary_part.added", e.summaryHead(), []byte(`"part":{"type":"summary_text","text":""}`))) {
			return
		}
	}
	started := false
	open := func() error {
		started = true
		if g.r > 0 {
			text := appendJSONString(nil, g.reasoningText())
			for _, p := range [][]byte{
				e.event("response.reasoning_summary_text.done", e.summaryHead(), append([]byte(`"text":`), text...)),
				e.event("response.reasoning_summary_part.done", e.summaryHead(), append(append([]byte(`"part":{"type":"summary_text","text":`), text...), '}')),
				e.event("response.output_item.done", []byte(`"output_index":0,"item":`), e.reasoningItem(nil, true)),
			} {
				if err := ev.send(p); err != nil {
					return err
				}
			}
		}
		e.msgIndex = msgIndex
		for _, p := range [][]byte{
			e.event("response.output_item.added", []byte(`"output_index":`+strconv.Itoa(msgIndex)+`,"item":`), e.messageItem(nil, "in_progress", false)),
			e.event("response.content_part.added", e.partHead(), []byte(`"part":{"type":"output_text","annotations":[],"text":""}`)),
		} {
			if err := ev.send(p); err != nil {
				return err
			}
		}
		return nil
	}
	err = g.stream(r.Context(), func(text []byte) error {
		return ev.send(e.delta("response.reasoning_summary_text.delta", e.summaryHead(), text))
	}, func(text []byte) error {
		if !started {
			if err := open(); err != nil {
				return err
			}
		}
		if ev.f != nil {
			if err := ev.beforeContent(func() []byte { return e.delta("response.output_text.delta", e.partHead(), nil) }, badEvent("response.output_text.delta", responsesBadChunk)); err != nil {
				return err
			}
		}
		return ev.send(e.delta("response.output_text.delta", e.partHead(), text))
	})
	if err != nil || !started && open() != nil {
		return
	}
	text := appendJSONString(nil, g.text())
	for _, p := range [][]byte{
		e.event("response.output_text.done", e.partHead(), append(append([]byte(`"text":`), text...), `,"logprobs":[]`...)),
		e.event("response.content_part.done", e.partHead(), append(append([]byte(`"part":{"type":"output_text","annotations":[],"text":`), text...), '}')),
		e.event("response.output_item.done", []byte(`"output_index":`+strconv.Itoa(msgIndex)+`,"item":`), e.messageItem(nil, "completed", true)),
	} {
		if !send(p) {
			return
		}
	}
	if ev.terminate() {
		status := e.status()
		send(e.event("response."+status, []byte(`"response":`), e.response(nil, status, true)))
	}
}

const responsesBadChunk = `{"type":"response.output_text.delta","sequence_number":9999,"item_id":"msg_bad","output_index":0,"content_index":0,"delta":"trunc`

func (s *Server) responsesGeneration(w http.ResponseWriter, r *http.Request, req *responsesRequest, start time.Time) (*generation, *requestError) {
	if err := readJSON(w, r, req, responsesExample); err != nil {
		return nil, err
	}
	prompt, rerr := inputWords(req.Input)
	if rerr != nil {
		return nil, rerr
	}
	prompt += countWords(req.Instructions)
	if req.Model, rerr = checkModel(req.Model, s.tok.Model); rerr != nil {
		return nil, rerr
	}
	limit, rerr := checkMaxTokens("max_output_tokens", req.MaxOutputTokens)
	if rerr != nil {
		return nil, rerr
	}
	tok, rerr := s.tokens(r, nil)
	if rerr != nil {
		return nil, rerr
	}
	return newGeneration(tok, limit, prompt, start)
}

// inputWords counts the words of a Responses input: a string, or an array
// of messages (content a string or parts with "text").
func inputWords(raw json.RawMessage) (int, *requestError) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, badRequest("input", "input is missing; send %s", responsesExample)
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return countWords(s), nil
	}
	var msgs []message
	if json.Unmarshal(raw, &msgs) != nil {
		return 0, badRequest("input", `input must be a string or an array of messages like {"role":"user","content":"Hello"}`)
	}
	return promptWords(msgs)
}

// responsesEncoder builds one response's events in reused buffers.
type responsesEncoder struct {
	id, msgID, rsID, model string
	created                int64
	prompt                 int
	g                      *generation
	seq                    int
	msgIndex               int
	head                   []byte // the current part head, reused
	data, out              []byte
}

func (e *responsesEncoder) status() string {
	if e.g.cut {
		return "incomplete"
	}
	return "completed"
}

// event frames {"type":typ,"sequence_number":n,<head><body>}, in a new
// slice (the events around the deltas are few).
func (e *responsesEncoder) event(typ string, head, body []byte) []byte {
	d := append(e.data[:0], `{"type":"`...)
	d = append(d, typ...)
	d = append(d, `","sequence_number":`...)
	d = strconv.AppendInt(d, int64(e.seq), 10)
	e.seq++
	d = append(d, ',')
	d = append(d, head...)
	if len(head) > 0 && head[len(head)-1] != ':' {
		d = append(d, ',')
	}
	d = append(d, body...)
	e.data = append(d, '}')
	return sse.AppendEvent(nil, "", typ, e.data)
}

// delta is a text delta event: the per-chunk hot path, without allocating.
func (e *responsesEncoder) delta(typ string, head []byte, text []byte) []byte {
	d := append(e.data[:0], `{"type":"`...)
	d = append(d, typ...)
	d = append(d, `","sequence_number":`...)
	d = strconv.AppendInt(d, int64(e.seq), 10)
	e.seq++
	d = append(d, ',')
	d = append(d, head...)
	d = append(d, `,"delta":`...)
	d = appendJSONString(d, text)
	if typ == "response.output_text.delta" {
		d = append(d, `,"logprobs":[]`...)
	}
	e.data = append(d, '}')
	e.out = sse.AppendEvent(e.out[:0], "", typ, e.data)
	return e.out
}

func (e *responsesEncoder) summaryHead() []byte {
	d := append(e.head[:0], `"item_id":`...)
	d = appendJSONString(d, e.rsID)
	e.head = append(d, `,"output_index":0,"summary_index":0`...)
	return e.head
}

func (e *responsesEncoder) partHead() []byte {
	d := append(e.head[:0], `"item_id":`...)
	d = appendJSONString(d, e.msgID)
	d = append(d, `,"output_index":`...)
	d = strconv.AppendInt(d, int64(e.msgIndex), 10)
	e.head = append(d, `,"content_index":0`...)
	return e.head
}

func (e *responsesEncoder) reasoningItem(d []byte, done bool) []byte {
	d = append(d, `{"id":`...)
	d = appendJSONString(d, e.rsID)
	d = append(d, `,"type":"reasoning","summary":[`...)
	if done {
		d = append(d, `{"type":"summary_text","text":`...)
		d = appendJSONString(d, e.g.reasoningText())
		d = append(d, '}')
	}
	return append(d, "]}"...)
}

func (e *responsesEncoder) messageItem(d []byte, status string, done bool) []byte {
	d = append(d, `{"id":`...)
	d = appendJSONString(d, e.msgID)
	d = append(d, `,"type":"message","status":"`...)
	d = append(d, status...)
	d = append(d, `","role":"assistant","content":[`...)
	if done {
		d = append(d, `{"type":"output_text","annotations":[],"logprobs":[],"text":`...)
		d = appendJSONString(d, e.g.text())
		d = append(d, '}')
	}
	return append(d, "]}"...)
}

// response is the response object; whole adds its output and usage.
func (e *responsesEncoder) response(d []byte, status string, whole bool) []byte {
	d = append(d, `{"id":`...)
	d = appendJSONString(d, e.id)
	d = append(d, `,"object":"response","created_at":`...)
	d = strconv.AppendInt(d, e.created, 10)
	d = append(d, `,"status":"`...)
	d = append(d, status...)
	d = append(d, `","error":null,"incomplete_details":`...)
	if status == "incomplete" {
		d = append(d, `{"reason":"max_output_tokens"}`...)
	} else {
		d = append(d, "null"...)
	}
	d = append(d, `,"model":`...)
	d = appendJSONString(d, e.model)
	d = append(d, `,"output":[`...)
	if whole {
		if e.g.r > 0 {
			d = e.reasoningItem(d, true)
			d = append(d, ',')
		}
		d = e.messageItem(d, "completed", true)
	}
	d = append(d, `],"parallel_tool_calls":true,"tool_choice":"auto","tools":[],"usage":`...)
	if !whole {
		return append(d, "null}"...)
	}
	out := e.g.r + e.g.n
	d = append(d, `{"input_tokens":`...)
	d = strconv.AppendInt(d, int64(e.prompt), 10)
	d = append(d, `,"input_tokens_details":{"cached_tokens":0},"output_tokens":`...)
	d = strconv.AppendInt(d, int64(out), 10)
	d = append(d, `,"output_tokens_details":{"reasoning_tokens":`...)
	d = strconv.AppendInt(d, int64(e.g.r), 10)
	d = append(d, `},"total_tokens":`...)
	d = strconv.AppendInt(d, int64(e.prompt+out), 10)
	return append(d, "}}"...)
}
