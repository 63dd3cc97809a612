package aistream

import (
	"net/http"
	"time"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/sse"
)

const chatExample = `{"messages":[{"role":"user","content":"Hello"}]}`

// chatRequest is the body the Next.js tutorial's client posts.
type chatRequest struct {
	Messages []message `json:"messages"`
}

// Chat serves POST /api/chat, the route of the Next.js streaming tutorial: it
// always streams, one `data: {"text":"…"}` event per chunk on schedule, then
// `data: [DONE]`. Errors are {"error":"…"}.
func (s *Server) Chat(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	g, rerr := s.chatGeneration(w, r, start)
	if rerr != nil {
		d := append([]byte(`{"error":`), appendJSONString(nil, rerr.msg)...)
		s.writeJSON(w, rerr.status, append(d, '}'))
		return
	}
	defer s.opts.Stats.Opened(transport.AIStream)()
	ev, err := s.openStream(w)
	if err != nil {
		return
	}
	var data, out []byte
	g.noReasoning()
	err = g.stream(r.Context(), nil, func(text []byte) error {
		if ev.f != nil {
			empty := func() []byte { return sse.AppendEvent(out[:0], "", "", []byte(`{"text":""}`)) }
			if err := ev.beforeContent(empty, badEvent("", chatBadChunk)); err != nil {
				return err
			}
		}
		data = append(data[:0], `{"text":`...)
		data = appendJSONString(data, text)
		data = append(data, '}')
		out = sse.AppendEvent(out[:0], "", "", data)
		return ev.send(out)
	})
	if err == nil && ev.terminate() {
		ev.send(doneEvent)
	}
}

func (s *Server) chatGeneration(w http.ResponseWriter, r *http.Request, start time.Time) (*generation, *requestError) {
	var req chatRequest
	if err := readJSON(w, r, &req, chatExample); err != nil {
		return nil, err
	}
	prompt, rerr := promptWords(req.Messages)
	if rerr != nil {
		return nil, rerr
	}
	tok, rerr := s.tokens(r, nil)
	if rerr != nil {
		return nil, rerr
	}
	return newGeneration(tok, 0, prompt, start)
}
