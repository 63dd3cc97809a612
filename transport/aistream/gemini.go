package aistream

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/sse"
)

// PatternGemini is the Gemini API's generateContent and
// streamGenerateContent route: the model and the method are one path
// segment, models/{model}:{method}.
const PatternGemini = "POST /v1beta/models/{call}"

const geminiExample = `{"contents":[{"role":"user","parts":[{"text":"Hello"}]}]}`

type geminiContent struct {
	Role  string `json:"role"`
	Parts []struct {
		Text string `json:"text"`
	} `json:"parts"`
}

type geminiRequest struct {
	Contents          []geminiContent `json:"contents"`
	SystemInstruction *geminiContent  `json:"systemInstruction"`
	GenerationConfig  struct {
		MaxOutputTokens *int64 `json:"maxOutputTokens"`
		Seed            *int64 `json:"seed"`
	} `json:"generationConfig"`
}

// Gemini serves POST /v1beta/models/{model}:streamGenerateContent?alt=sse
// and :generateContent like the Gemini API. Streamed, each chunk is a
// GenerateContentResponse: with reasoning tokens, parts with "thought": true
// first, then one text part per chunk on schedule, each with the running
// usageMetadata; a last chunk with finishReason STOP (MAX_TOKENS when
// maxOutputTokens cut the answer) and the final counts (candidatesTokenCount,
// thoughtsTokenCount). streamGenerateContent without alt=sse is refused: the
// mock streams SSE only. Errors have Gemini's shape
// {"error":{"code","message","status"}}.
func (s *Server) Gemini(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	model, method, _ := strings.Cut(r.PathValue("call"), ":")
	var req geminiRequest
	g, rerr := s.geminiGeneration(w, r, &req, method, start)
	if rerr != nil {
		s.writeJSON(w, rerr.status, appendGeminiError(nil, rerr))
		return
	}
	defer s.opts.Stats.Opened(transport.AIStream)()
	if model == "" {
		model = s.tok.Model
	}
	e := &geminiEncoder{model: model, prompt: g.prompt, id: string(appendID(nil, "", s.idSeed(start), 22))}
	finish := "STOP"
	if g.cut {
		finish = "MAX_TOKENS"
	}
	if method == "generateContent" {
		if g.wait(r.Context()) != nil {
			return
		}
		d := append([]byte(nil), `{"candidates":[{"content":{"parts":[`...)
		if g.r > 0 {
			d = append(d, `{"text":`...)
			d = appendJSONString(d, g.reasoningText())
			d = append(d, `,"thought":true},`...)
		}
		d = append(d, `{"text":`...)
		d = appendJSONString(d, g.text())
		d = append(d, `}],"role":"model"},"finishReason":"`...)
		d = append(d, finish...)
		d = append(d, `","index":0}],`...)
		s.writeJSON(w, http.StatusOK, e.tail(d, g.r, g.n))
		return
	}
	ev, err := s.openStream(w)
	if err != nil {
		return
	}
	err = g.stream(r.Context(), func(text []byte) error {
		return ev.send(e.chunk(text, true))
	}, func(text []byte) error {
		if ev.f != nil {
			if err := ev.beforeContent(func() []byte { return e.chunk(nil, false) }, badEvent("", geminiBadChunk)); err != nil {
				return err
			}
		}
		return ev.send(e.chunk(text, false))
	})
	if err != nil || !ev.terminate() {
		return
	}
	d := append([]byte(nil), `{"candidates":[{"content":{"parts":[{"text":""}],"role":"model"},"finishReason":"`...)
	d = append(d, finish...)
	d = append(d, `","index":0}],`...)
	ev.send(sse.AppendEvent(nil, "", "", e.tail(d, g.r, g.n)))
}

const geminiBadChunk = `{"candidates":[{"content":{"parts":[{"text":"trunc`

func (s *Server) geminiGeneration(w http.ResponseWriter, r *http.Request, req *geminiRequest, method string, start time.Time) (*generation, *requestError) {
	switch {
	case method == "streamGenerateContent" && r.URL.Query().Get("alt") != "sse":
		return nil, badRequest("alt", "rtbench's mock streams Server-Sent Events only: call %s?alt=sse", r.URL.Path)
	case method != "streamGenerateContent" && method != "generateContent":
		return nil, &requestError{status: http.StatusNotFound, msg: "unknown method " + strconv.Quote(method) + ": want models/MODEL:streamGenerateContent?alt=sse or models/MODEL:generateContent"}
	}
	if err := readJSON(w, r, req, geminiExample); err != nil {
		return nil, err
	}
	if len(req.Contents) == 0 {
		return nil, badRequest("contents", "contents must be a non-empty array; send %s", geminiExample)
	}
	prompt := 0
	all := req.Contents
	if req.SystemInstruction != nil {
		all = append(all, *req.SystemInstruction)
	}
	for _, c := range all {
		for _, p := range c.Parts {
			prompt += countWords(p.Text)
		}
	}
	limit, rerr := checkMaxTokens("maxOutputTokens", req.GenerationConfig.MaxOutputTokens)
	if rerr != nil {
		return nil, rerr
	}
	tok, rerr := s.tokens(r, req.GenerationConfig.Seed)
	if rerr != nil {
		return nil, rerr
	}
	return newGeneration(tok, limit, prompt, start)
}

// geminiEncoder builds one response's chunks in reused buffers.
type geminiEncoder struct {
	model, id string
	prompt    int
	data, out []byte
}

func (e *geminiEncoder) chunk(text []byte, thought bool) []byte {
	d := append(e.data[:0], `{"candidates":[{"content":{"parts":[{"text":`...)
	d = appendJSONString(d, text)
	if thought {
		d = append(d, `,"thought":true`...)
	}
	d = append(d, `}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":`...)
	d = strconv.AppendInt(d, int64(e.prompt), 10)
	d = append(d, `,"totalTokenCount":`...)
	d = strconv.AppendInt(d, int64(e.prompt), 10)
	d = append(d, `},"modelVersion":`...)
	d = appendJSONString(d, e.model)
	d = append(d, `,"responseId":`...)
	d = appendJSONString(d, e.id)
	e.data = append(d, '}')
	e.out = sse.AppendEvent(e.out[:0], "", "", e.data)
	return e.out
}

// tail closes a response after its candidates: the final usage, the model
// and the response ID.
func (e *geminiEncoder) tail(d []byte, thoughts, answer int) []byte {
	d = append(d, `"usageMetadata":{"promptTokenCount":`...)
	d = strconv.AppendInt(d, int64(e.prompt), 10)
	d = append(d, `,"candidatesTokenCount":`...)
	d = strconv.AppendInt(d, int64(answer), 10)
	if thoughts > 0 {
		d = append(d, `,"thoughtsTokenCount":`...)
		d = strconv.AppendInt(d, int64(thoughts), 10)
	}
	d = append(d, `,"totalTokenCount":`...)
	d = strconv.AppendInt(d, int64(e.prompt+thoughts+answer), 10)
	d = append(d, `},"modelVersion":`...)
	d = appendJSONString(d, e.model)
	d = append(d, `,"responseId":`...)
	d = appendJSONString(d, e.id)
	return append(d, '}')
}

// appendGeminiError renders e in the Gemini API's error shape.
func appendGeminiError(d []byte, e *requestError) []byte {
	status := "INVALID_ARGUMENT"
	switch e.status {
	case http.StatusNotFound:
		status = "NOT_FOUND"
	case http.StatusRequestEntityTooLarge:
		status = "INVALID_ARGUMENT"
	}
	d = append(d, `{"error":{"code":`...)
	d = strconv.AppendInt(d, int64(e.status), 10)
	d = append(d, `,"message":`...)
	d = appendJSONString(d, e.msg)
	d = append(d, `,"status":"`...)
	d = append(d, status...)
	return append(d, `"}}`...)
}
