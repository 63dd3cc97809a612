package aistream

import (
	"net/http"
	"strconv"
	"time"

	"github.com/rtbench/rtbench/transport"
)

// Ollama's API under /ollama (the Next.js tutorial owns /api/chat), so the
// ollama client reaches it with host "http://127.0.0.1:8080/ollama".
const (
	PatternOllamaChat     = "POST /ollama/api/chat"
	PatternOllamaGenerate = "POST /ollama/api/generate"
	PatternOllamaTags     = "GET /ollama/api/tags"
)

const (
	ollamaChatExample     = `{"model":"rtbench-mock-1","messages":[{"role":"user","content":"Hello"}]}`
	ollamaGenerateExample = `{"model":"rtbench-mock-1","prompt":"Hello"}`
)

type ollamaRequest struct {
	Model    string    `json:"model"`
	Messages []message `json:"messages"`
	Prompt   string    `json:"prompt"`
	System   string    `json:"system"`
	Stream   *bool     `json:"stream"` // default true
	Options  struct {
		NumPredict *int64 `json:"num_predict"`
		Seed       *int64 `json:"seed"`
	} `json:"options"`
}

// OllamaChat serves POST /ollama/api/chat like Ollama: NDJSON
// (application/x-ndjson), one {"model","created_at","message":{"role":
// "assistant","content":…},"done":false} line per chunk on schedule — with
// reasoning tokens, lines whose message has "thinking" first — and a final
// "done": true line with done_reason and Ollama's own timings: the mock's
// schedule as Ollama would report it (prompt_eval_duration the time to the
// first token, eval_duration (reasoning + answer tokens) / tps, eval_count
// those tokens, load_duration 0). "stream": false answers one JSON object.
func (s *Server) OllamaChat(w http.ResponseWriter, r *http.Request) { s.ollama(w, r, true) }

// OllamaGenerate serves POST /ollama/api/generate: as OllamaChat, with the
// text in "response" (and "thinking") instead of a message.
func (s *Server) OllamaGenerate(w http.ResponseWriter, r *http.Request) { s.ollama(w, r, false) }

// OllamaTags serves GET /ollama/api/tags: the one mock model.
func (s *Server) OllamaTags(w http.ResponseWriter, r *http.Request) {
	d := append([]byte(nil), `{"models":[{"name":`...)
	name := s.tok.Model + ":latest"
	d = appendJSONString(d, name)
	d = append(d, `,"model":`...)
	d = appendJSONString(d, name)
	d = append(d, `,"modified_at":"2026-01-01T00:00:00Z","size":0,"digest":"`...)
	d = appendID(d, "", fnvSeed(name), 64)
	d = append(d, `","details":{"parent_model":"","format":"gguf","family":"rtbench","families":["rtbench"],"parameter_size":"0B","quantization_level":"none"}}]}`...)
	s.writeJSON(w, http.StatusOK, d)
}

func fnvSeed(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}

func (s *Server) ollama(w http.ResponseWriter, r *http.Request, chat bool) {
	start := time.Now()
	var req ollamaRequest
	example := ollamaGenerateExample
	if chat {
		example = ollamaChatExample
	}
	g, rerr := s.ollamaGeneration(w, r, &req, chat, example, start)
	if rerr != nil {
		d := append([]byte(`{"error":`), appendJSONString(nil, rerr.msg)...)
		s.writeJSON(w, rerr.status, append(d, '}'))
		return
	}
	defer s.opts.Stats.Opened(transport.AIStream)()
	e := &ollamaEncoder{model: req.Model, chat: chat, g: g, start: start}
	if req.Stream != nil && !*req.Stream {
		if g.wait(r.Context()) != nil {
			return
		}
		s.writeJSON(w, http.StatusOK, e.final(g.reasoningText(), g.text()))
		return
	}
	ev, err := s.openTyped(w, "Content-Type", "application/x-ndjson")
	if err != nil {
		return
	}
	err = g.stream(r.Context(), func(text []byte) error {
		return ev.send(e.line(text, true))
	}, func(text []byte) error {
		if ev.f != nil {
			if err := ev.beforeContent(func() []byte { return e.line(nil, false) }, []byte(ollamaBadLine+"\n")); err != nil {
				return err
			}
		}
		return ev.send(e.line(text, false))
	})
	if err == nil && ev.terminate() {
		ev.send(append(e.final("", ""), '\n'))
	}
}

const ollamaBadLine = `{"model":"m","created_at":"2026-01-01T00:00:00Z","message":{"role":"assistant","content":"trunc`

func (s *Server) ollamaGeneration(w http.ResponseWriter, r *http.Request, req *ollamaRequest, chat bool, example string, start time.Time) (*generation, *requestError) {
	if err := readJSON(w, r, req, example); err != nil {
		return nil, err
	}
	prompt := countWords(req.Prompt) + countWords(req.System)
	if chat {
		if len(req.Messages) == 0 {
			return nil, badRequest("messages", "messages must be a non-empty array; send %s", example)
		}
		n, rerr := promptWords(req.Messages)
		if rerr != nil {
			return nil, rerr
		}
		prompt += n
	}
	var rerr *requestError
	if req.Model, rerr = checkModel(req.Model, s.tok.Model); rerr != nil {
		return nil, rerr
	}
	var limit int64
	if p := req.Options.NumPredict; p != nil && *p > 0 {
		limit = min(*p, MaxTokens)
	}
	tok, rerr := s.tokens(r, req.Options.Seed)
	if rerr != nil {
		return nil, rerr
	}
	return newGeneration(tok, limit, prompt, start)
}

// ollamaEncoder builds one answer's lines in reused buffers.
type ollamaEncoder struct {
	model string
	chat  bool
	g     *generation
	start time.Time
	out   []byte
}

func (e *ollamaEncoder) head(d []byte) []byte {
	d = append(d, `{"model":`...)
	d = appendJSONString(d, e.model)
	d = append(d, `,"created_at":"`...)
	d = time.Now().UTC().AppendFormat(d, time.RFC3339Nano)
	return append(d, `",`...)
}

// text appends the answer's text (and thinking) members.
func (e *ollamaEncoder) text(d []byte, answer, thinking []byte) []byte {
	if e.chat {
		d = append(d, `"message":{"role":"assistant","content":`...)
		d = appendJSONString(d, answer)
		if len(thinking) > 0 {
			d = append(d, `,"thinking":`...)
			d = appendJSONString(d, thinking)
		}
		return append(d, `},`...)
	}
	d = append(d, `"response":`...)
	d = appendJSONString(d, answer)
	if len(thinking) > 0 {
		d = append(d, `,"thinking":`...)
		d = appendJSONString(d, thinking)
	}
	return append(d, ',')
}

func (e *ollamaEncoder) line(text []byte, thinking bool) []byte {
	d := e.head(e.out[:0])
	if thinking {
		d = e.text(d, nil, text)
	} else {
		d = e.text(d, text, nil)
	}
	e.out = append(d, `"done":false}`+"\n"...)
	return e.out
}

// final is the done line (or the whole answer, not streamed) with Ollama's
// timings.
func (e *ollamaEncoder) final(thinking, answer string) []byte {
	g := e.g
	d := e.head(nil)
	d = e.text(d, []byte(answer), []byte(thinking))
	reason := "stop"
	if g.cut {
		reason = "length"
	}
	d = append(d, `"done_reason":"`...)
	d = append(d, reason...)
	d = append(d, `","done":true,"total_duration":`...)
	d = strconv.AppendInt(d, int64(time.Since(e.start)), 10)
	d = append(d, `,"load_duration":0,"prompt_eval_count":`...)
	d = strconv.AppendInt(d, int64(g.prompt), 10)
	d = append(d, `,"prompt_eval_duration":`...)
	d = strconv.AppendInt(d, int64(max(g.tok.TTFT, 0)), 10)
	n := g.r + g.n
	d = append(d, `,"eval_count":`...)
	d = strconv.AppendInt(d, int64(n), 10)
	d = append(d, `,"eval_duration":`...)
	d = strconv.AppendInt(d, int64(float64(n)/g.tok.TPS*float64(time.Second)), 10)
	return append(d, '}')
}
