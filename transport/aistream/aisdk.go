package aistream

import (
	"net/http"
	"strconv"
	"time"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/sse"
)

// The Vercel AI SDK's stream routes: the UI message stream of AI SDK 5
// (useChat's default transport) and the data stream of AI SDK 3.x/4.x.
const (
	PatternUIMessageStream = "POST /api/ai-sdk/ui"
	PatternDataStream      = "POST /api/ai-sdk/data"
)

const uiExample = `{"messages":[{"id":"1","role":"user","parts":[{"type":"text","text":"Hello"}]}]}`

// uiRequest is what useChat posts: UI messages (parts) or, from older
// clients, messages with content.
type uiRequest struct {
	Messages []struct {
		Role  string `json:"role"`
		Parts []struct {
			Text string `json:"text"`
		} `json:"parts"`
		Text *string `json:"content"`
	} `json:"messages"`
}

func (s *Server) uiGeneration(w http.ResponseWriter, r *http.Request, start time.Time) (*generation, *requestError) {
	var req uiRequest
	if err := readJSON(w, r, &req, uiExample); err != nil {
		return nil, err
	}
	prompt := 0
	for _, m := range req.Messages {
		for _, p := range m.Parts {
			prompt += countWords(p.Text)
		}
		if m.Text != nil {
			prompt += countWords(*m.Text)
		}
	}
	tok, rerr := s.tokens(r, nil)
	if rerr != nil {
		return nil, rerr
	}
	return newGeneration(tok, 0, prompt, start)
}

// uiError is an AI SDK route's refusal: {"error":"…"}.
func (s *Server) uiError(w http.ResponseWriter, rerr *requestError) {
	d := append([]byte(`{"error":`), appendJSONString(nil, rerr.msg)...)
	s.writeJSON(w, rerr.status, append(d, '}'))
}

// UIMessageStream serves POST /api/ai-sdk/ui like an AI SDK 5 route
// returning result.toUIMessageStreamResponse(): an event stream with
// x-vercel-ai-ui-message-stream: v1 whose parts are start and start-step at
// once; with reasoning tokens reasoning-start, one reasoning-delta per
// chunk and reasoning-end; text-start, one text-delta per chunk on
// schedule, text-end, finish-step, finish, and data: [DONE].
func (s *Server) UIMessageStream(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	g, rerr := s.uiGeneration(w, r, start)
	if rerr != nil {
		s.uiError(w, rerr)
		return
	}
	defer s.opts.Stats.Opened(transport.AIStream)()
	ev, err := s.openTyped(w, "Content-Type", sse.ContentType, "X-Vercel-Ai-Ui-Message-Stream", "v1", "Cache-Control", "no-cache")
	if err != nil {
		return
	}
	msgID := string(appendID(nil, "msg-", s.idSeed(start), 16))
	part := func(p string) []byte { return sse.AppendEvent(nil, "", "", []byte(p)) }
	if ev.send(part(`{"type":"start","messageId":"`+msgID+`"}`)) != nil || ev.send(part(`{"type":"start-step"}`)) != nil {
		return
	}
	var data, out []byte
	delta := func(typ, id string, text []byte) []byte {
		data = append(data[:0], `{"type":"`...)
		data = append(data, typ...)
		data = append(data, `","id":"`...)
		data = append(data, id...)
		data = append(data, `","delta":`...)
		data = appendJSONString(data, text)
		data = append(data, '}')
		out = sse.AppendEvent(out[:0], "", "", data)
		return out
	}
	reasoning, text := false, false
	err = g.stream(r.Context(), func(t []byte) error {
		if !reasoning {
			reasoning = true
			if err := ev.send(part(`{"type":"reasoning-start","id":"r0"}`)); err != nil {
				return err
			}
		}
		return ev.send(delta("reasoning-delta", "r0", t))
	}, func(t []byte) error {
		if !text {
			text = true
			if reasoning {
				if err := ev.send(part(`{"type":"reasoning-end","id":"r0"}`)); err != nil {
					return err
				}
			}
			if err := ev.send(part(`{"type":"text-start","id":"t0"}`)); err != nil {
				return err
			}
		}
		if ev.f != nil {
			if err := ev.beforeContent(func() []byte { return delta("text-delta", "t0", nil) }, badEvent("", uiBadChunk)); err != nil {
				return err
			}
		}
		return ev.send(delta("text-delta", "t0", t))
	})
	if err != nil {
		return
	}
	for _, p := range []string{`{"type":"text-end","id":"t0"}`, `{"type":"finish-step"}`, `{"type":"finish"}`} {
		if ev.send(part(p)) != nil {
			return
		}
	}
	if ev.terminate() {
		ev.send(doneEvent)
	}
}

const uiBadChunk = `{"type":"text-delta","id":"t0","delta":"trunc`

// DataStream serves POST /api/ai-sdk/data like an AI SDK 4 route returning
// result.toDataStreamResponse(): text/plain with x-vercel-ai-data-stream:
// v1, a line f:{"messageId"} at once; with reasoning tokens one g:"…" line
// per chunk; one 0:"…" line per chunk on schedule; then e:{…} (the step's
// finish, with usage) and d:{…} (the message's finish, with usage).
func (s *Server) DataStream(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	g, rerr := s.uiGeneration(w, r, start)
	if rerr != nil {
		s.uiError(w, rerr)
		return
	}
	defer s.opts.Stats.Opened(transport.AIStream)()
	ev, err := s.openTyped(w, "Content-Type", "text/plain; charset=utf-8", "X-Vercel-Ai-Data-Stream", "v1", "Cache-Control", "no-cache")
	if err != nil {
		return
	}
	msgID := string(appendID(nil, "msg-", s.idSeed(start), 16))
	if ev.send([]byte(`f:{"messageId":"`+msgID+`"}`+"\n")) != nil {
		return
	}
	var out []byte
	line := func(code byte, text []byte) []byte {
		out = append(out[:0], code, ':')
		out = appendJSONString(out, text)
		out = append(out, '\n')
		return out
	}
	err = g.stream(r.Context(), func(t []byte) error {
		return ev.send(line('g', t))
	}, func(t []byte) error {
		if ev.f != nil {
			if err := ev.beforeContent(func() []byte { return line('0', nil) }, []byte(dataBadLine+"\n")); err != nil {
				return err
			}
		}
		return ev.send(line('0', t))
	})
	if err != nil {
		return
	}
	finish := "stop"
	usage := `"usage":{"promptTokens":` + strconv.Itoa(g.prompt) + `,"completionTokens":` + strconv.Itoa(g.r+g.n) + `}`
	if ev.send([]byte(`e:{"finishReason":"`+finish+`",`+usage+`,"isContinued":false}`+"\n")) != nil {
		return
	}
	if ev.terminate() {
		ev.send([]byte(`d:{"finishReason":"` + finish + `",` + usage + "}\n"))
	}
}

// dataBadLine is the data stream's truncated line for the bad-json fault.
const dataBadLine = `0:"trunc`
