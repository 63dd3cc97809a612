package transport

import (
	"mime"
	"net/http"
)

// AIFormat is one AI token stream shape rtbench reads: its name (an
// Exchange's Format, the value of --ai-format) and what ends it.
type AIFormat struct {
	Name string
	// Terminator is what ends a whole stream of this shape, in words, for
	// messages ("data: [DONE]", "message_stop" …).
	Terminator string
	// What says where the shape comes from, for help texts.
	What string
}

// AIFormats are the AI stream shapes, in the order help texts list them.
// transport/aistream decodes each; bench/check names their terminators.
var AIFormats = []AIFormat{
	{"openai", "data: [DONE]", "OpenAI Chat Completions (chat.completion.chunk)"},
	{"openai-responses", "response.completed", "OpenAI Responses API (response.output_text.delta …)"},
	{"anthropic", "message_stop", "Anthropic Messages (message_start … message_stop)"},
	{"ai-sdk-ui", "data: [DONE]", "Vercel AI SDK UI message stream (x-vercel-ai-ui-message-stream: v1)"},
	{"ai-sdk-data", "a d: finish line", "Vercel AI SDK data stream (x-vercel-ai-data-stream: v1, 0:\"…\" lines)"},
	{"gemini", "a finishReason", "Google Gemini streamGenerateContent?alt=sse"},
	{"ollama", `"done": true`, "Ollama /api/chat and /api/generate (NDJSON)"},
	{"text", "data: [DONE]", `the Next.js tutorial's data: {"text":…}`},
}

// LookupAIFormat returns the format named name, or nil.
func LookupAIFormat(name string) *AIFormat {
	for i := range AIFormats {
		if AIFormats[i].Name == name {
			return &AIFormats[i]
		}
	}
	return nil
}

// AIFormatNames is the formats' names, comma-separated, for help texts and
// errors.
func AIFormatNames() string {
	s := ""
	for i, f := range AIFormats {
		if i > 0 {
			s += ", "
		}
		s += f.Name
	}
	return s
}

// AIMediaType is the media type an AI stream answer must have, by what its
// headers say of its format: text/plain for the AI SDK data stream (which
// sends x-vercel-ai-data-stream), NDJSON when the answer is NDJSON
// (Ollama), else text/event-stream.
func AIMediaType(h http.Header) string {
	if h.Get("X-Vercel-Ai-Data-Stream") != "" {
		return "text/plain"
	}
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	switch mt {
	case "application/x-ndjson", "application/ndjson":
		return mt
	}
	return "text/event-stream"
}
