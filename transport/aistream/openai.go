package aistream

import (
	"net/http"
	"strconv"
	"time"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/sse"
)

const openAIExample = `{"model":"rtbench-mock-1","messages":[{"role":"user","content":"Hello"}],"stream":true}`

// openAIRequest is the part of a Chat Completions request the mock reads;
// other fields (temperature, tools, ...) are accepted and ignored.
type openAIRequest struct {
	Model         string    `json:"model"`
	Messages      []message `json:"messages"`
	Stream        bool      `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	MaxTokens           *int64 `json:"max_tokens"`
	MaxCompletionTokens *int64 `json:"max_completion_tokens"`
	Seed                *int64 `json:"seed"`
}

// ChatCompletions serves POST /v1/chat/completions like OpenAI's Chat
// Completions API. With "stream":true it sends chat.completion.chunk events: a
// role-only delta at once, one content delta per chunk on schedule, a chunk
// with an empty delta and finish_reason "stop" (or "length" when max_tokens
// cut the answer), with stream_options.include_usage a final chunk with
// "choices":[] and the usage (the earlier chunks then carry "usage":null), and
// "data: [DONE]". Without it, it answers one chat.completion object once the
// whole answer is generated. max_completion_tokens wins over max_tokens; the
// body's seed sets the Tokens seed.
func (s *Server) ChatCompletions(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var req openAIRequest
	g, rerr := s.openAIGeneration(w, r, &req, start)
	if rerr != nil {
		s.writeJSON(w, rerr.status, appendOpenAIError(nil, rerr))
		return
	}
	defer s.opts.Stats.Opened(transport.AIStream)()

	enc := &openAIEncoder{usage: req.StreamOptions != nil && req.StreamOptions.IncludeUsage}
	enc.id = string(appendID(nil, "chatcmpl-", s.idSeed(start), 29))
	enc.created = start.Unix()
	enc.model = req.Model
	enc.fp = fingerprint(req.Model)
	finish := "stop"
	if g.cut {
		finish = "length"
	}

	if !req.Stream {
		if g.wait(r.Context()) != nil {
			return
		}
		s.writeJSON(w, http.StatusOK, enc.completion(g.text(), finish, g.prompt, g.r+g.n))
		return
	}
	ev, err := s.openStream(w)
	if err != nil {
		return
	}
	if ev.send(enc.role()) != nil {
		return
	}
	err = g.stream(r.Context(), func(text []byte) error {
		return ev.send(enc.reasoning(text))
	}, func(text []byte) error {
		if ev.f != nil {
			if err := ev.beforeContent(func() []byte { return enc.content(nil) }, badEvent("", openAIBadChunk)); err != nil {
				return err
			}
		}
		return ev.send(enc.content(text))
	})
	if err != nil || ev.send(enc.finish(finish)) != nil {
		return
	}
	if enc.usage && ev.send(enc.usageChunk(g.prompt, g.r+g.n)) != nil {
		return
	}
	if ev.terminate() {
		ev.send(doneEvent)
	}
}

// openAIGeneration reads and checks the request into req and resolves its
// answer.
func (s *Server) openAIGeneration(w http.ResponseWriter, r *http.Request, req *openAIRequest, start time.Time) (*generation, *requestError) {
	if err := readJSON(w, r, req, openAIExample); err != nil {
		return nil, err
	}
	if len(req.Messages) == 0 {
		return nil, badRequest("messages", `messages must be a non-empty array; send %s`, openAIExample)
	}
	prompt, rerr := promptWords(req.Messages)
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
	if req.MaxCompletionTokens != nil {
		if limit, rerr = checkMaxTokens("max_completion_tokens", req.MaxCompletionTokens); rerr != nil {
			return nil, rerr
		}
	}
	tok, rerr := s.tokens(r, req.Seed)
	if rerr != nil {
		return nil, rerr
	}
	return newGeneration(tok, limit, prompt, start)
}

var doneEvent = []byte("data: [DONE]\n\n")

// openAIEncoder builds one response's chunks in reused buffers: after the
// first few, a chunk costs no allocation.
type openAIEncoder struct {
	id, model, fp string
	created       int64
	usage         bool   // stream_options.include_usage
	chunkHead     []byte // a chunk's JSON up to the delta's value
	data, out     []byte // the chunk's JSON, the event around it
}

// head starts an object of the given type: id, object, created, model,
// system_fingerprint.
func (e *openAIEncoder) head(object string) {
	d := append(e.data[:0], `{"id":`...)
	d = appendJSONString(d, e.id)
	d = append(d, `,"object":"`...)
	d = append(d, object...)
	d = append(d, `","created":`...)
	d = strconv.AppendInt(d, e.created, 10)
	d = append(d, `,"model":`...)
	d = appendJSONString(d, e.model)
	d = append(d, `,"system_fingerprint":`...)
	d = appendJSONString(d, e.fp)
	e.data = d
}

// chunk starts a chat.completion.chunk up to its delta's value. Everything
// before the delta is the same in every chunk of a response, so it is encoded
// once.
func (e *openAIEncoder) chunk() {
	if e.chunkHead == nil {
		e.head("chat.completion.chunk")
		e.chunkHead = append(e.data, `,"choices":[{"index":0,"delta":`...)
		e.data = nil
	}
	e.data = append(e.data[:0], e.chunkHead...)
}

// end closes a chunk with its finish_reason ("" for null) and frames it.
func (e *openAIEncoder) end(finish string) []byte {
	e.data = append(e.data, `,"logprobs":null,"finish_reason":`...)
	if finish == "" {
		e.data = append(e.data, "null"...)
	} else {
		e.data = appendJSONString(e.data, finish)
	}
	e.data = append(e.data, "}]"...)
	if e.usage {
		e.data = append(e.data, `,"usage":null`...)
	}
	e.data = append(e.data, '}')
	e.out = sse.AppendEvent(e.out[:0], "", "", e.data)
	return e.out
}

func (e *openAIEncoder) role() []byte {
	e.chunk()
	e.data = append(e.data, `{"role":"assistant","content":""}`...)
	return e.end("")
}

func (e *openAIEncoder) content(text []byte) []byte {
	e.chunk()
	e.data = append(e.data, `{"content":`...)
	e.data = appendJSONString(e.data, text)
	e.data = append(e.data, '}')
	return e.end("")
}

// reasoning is a delta of reasoning_content, as DeepSeek, vLLM and other
// OpenAI-compatible servers stream a reasoning model's thinking.
func (e *openAIEncoder) reasoning(text []byte) []byte {
	e.chunk()
	e.data = append(e.data, `{"reasoning_content":`...)
	e.data = appendJSONString(e.data, text)
	e.data = append(e.data, '}')
	return e.end("")
}

func (e *openAIEncoder) finish(reason string) []byte {
	e.chunk()
	e.data = append(e.data, "{}"...)
	return e.end(reason)
}

func (e *openAIEncoder) usageChunk(prompt, completion int) []byte {
	e.head("chat.completion.chunk")
	e.data = append(e.data, `,"choices":[],`...)
	e.data = appendOpenAIUsage(e.data, prompt, completion)
	e.data = append(e.data, '}')
	e.out = sse.AppendEvent(e.out[:0], "", "", e.data)
	return e.out
}

// completion is the non-streamed chat.completion object.
func (e *openAIEncoder) completion(text, finish string, prompt, completion int) []byte {
	e.head("chat.completion")
	d := append(e.data, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
	d = appendJSONString(d, text)
	d = append(d, `,"refusal":null},"logprobs":null,"finish_reason":`...)
	d = appendJSONString(d, finish)
	d = append(d, "}],"...)
	d = appendOpenAIUsage(d, prompt, completion)
	return append(d, '}')
}

func appendOpenAIUsage(d []byte, prompt, completion int) []byte {
	d = append(d, `"usage":{"prompt_tokens":`...)
	d = strconv.AppendInt(d, int64(prompt), 10)
	d = append(d, `,"completion_tokens":`...)
	d = strconv.AppendInt(d, int64(completion), 10)
	d = append(d, `,"total_tokens":`...)
	d = strconv.AppendInt(d, int64(prompt+completion), 10)
	return append(d, '}')
}

// appendOpenAIError renders e in OpenAI's error shape:
//
//	{"error":{"message":"…","type":"invalid_request_error","param":"…"|null,"code":null}}
func appendOpenAIError(d []byte, e *requestError) []byte {
	d = append(d, `{"error":{"message":`...)
	d = appendJSONString(d, e.msg)
	d = append(d, `,"type":"invalid_request_error","param":`...)
	if e.param == "" {
		d = append(d, "null"...)
	} else {
		d = appendJSONString(d, e.param)
	}
	return append(d, `,"code":null}}`...)
}
