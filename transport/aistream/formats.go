package aistream

import (
	"mime"
	"net/http"
	"strings"
)

// Formats of Exchange.Format: the names of transport.AIFormats.
const (
	FormatOpenAI     = "openai"           // Chat Completions: chat.completion.chunk … data: [DONE]
	FormatResponses  = "openai-responses" // Responses API: response.output_text.delta … response.completed
	FormatAnthropic  = "anthropic"        // Messages: message_start … message_stop
	FormatUI         = "ai-sdk-ui"        // AI SDK UI message stream: {"type":"text-delta"} … data: [DONE]
	FormatDataStream = "ai-sdk-data"      // AI SDK data stream: 0:"…" lines … d:{…}
	FormatGemini     = "gemini"           // streamGenerateContent?alt=sse: candidates … finishReason
	FormatOllama     = "ollama"           // /api/chat, /api/generate NDJSON … "done":true
	FormatText       = "text"             // the Next.js tutorial: data: {"text":…} … data: [DONE]
)

// framing is how a format's bytes are cut into chunks.
type framing uint8

const (
	frameSSE    framing = iota // text/event-stream events
	frameNDJSON                // one JSON value per line
	frameCodes                 // CODE:JSON lines (the AI SDK data stream)
)

// shape is one format the client reads.
type shape struct {
	name    string
	framing framing
	done    bool // ends with data: [DONE]
	decode  func(d *decoder, typ string, data []byte) (*chunk, error)
}

var (
	shapeOpenAI    = &shape{name: FormatOpenAI, done: true, decode: generic}
	shapeAnthropic = &shape{name: FormatAnthropic, decode: generic}
	shapeText      = &shape{name: FormatText, done: true, decode: generic}
	shapeResponses = &shape{name: FormatResponses, decode: func(d *decoder, _ string, b []byte) (*chunk, error) { return d.decodeResponses(b) }}
	shapeUI        = &shape{name: FormatUI, done: true, decode: func(d *decoder, _ string, b []byte) (*chunk, error) { return d.decodeUI(b) }}
	shapeData      = &shape{name: FormatDataStream, framing: frameCodes, decode: (*decoder).decodeDataLine}
	shapeGemini    = &shape{name: FormatGemini, decode: func(d *decoder, _ string, b []byte) (*chunk, error) { return d.decodeGemini(b) }}
	shapeOllama    = &shape{name: FormatOllama, framing: frameNDJSON, decode: func(d *decoder, _ string, b []byte) (*chunk, error) { return d.decodeOllama(b) }}
)

// shapes lists every format; the SSE ones after the first three are tried,
// in this order, on an event the generic decoder does not recognise.
var shapes = []*shape{shapeOpenAI, shapeAnthropic, shapeText, shapeResponses, shapeUI, shapeGemini, shapeData, shapeOllama}

func generic(d *decoder, _ string, b []byte) (*chunk, error) { return d.decode(b) }

func shapeNamed(name string) *shape {
	for _, s := range shapes {
		if s.name == name {
			return s
		}
	}
	return nil
}

// Response headers the AI SDK sets on its two stream protocols.
const (
	HeaderUIMessageStream = "X-Vercel-Ai-Ui-Message-Stream"
	HeaderDataStream      = "X-Vercel-Ai-Data-Stream"
)

// isNDJSON reports whether a media type is newline-delimited JSON.
func isNDJSON(mt string) bool {
	switch mt {
	case "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines":
		return true
	}
	return false
}

// mediaType is the essence of a Content-Type, "" when there is none.
func mediaType(ct string) string {
	mt, _, _ := mime.ParseMediaType(strings.TrimSuffix(strings.TrimSpace(ct), ";"))
	return mt
}

// streamShape picks what a response's headers say: the framing, and the
// format when the headers name it (the AI SDK's), else nil for the chunks
// to decide. ok is false for a media type that is no stream.
func streamShape(h http.Header) (s *shape, fr framing, ok bool) {
	mt := mediaType(h.Get("Content-Type"))
	switch {
	case h.Get(HeaderDataStream) != "":
		return shapeData, frameCodes, true
	case h.Get(HeaderUIMessageStream) != "" && mt == "text/event-stream":
		return shapeUI, frameSSE, true
	case isNDJSON(mt):
		return nil, frameNDJSON, true
	case mt == "text/event-stream":
		return nil, frameSSE, true
	}
	return nil, frameSSE, false
}

// candidates are the formats an undecided stream of a framing may be, in
// the order they are tried.
func candidates(fr framing) []*shape {
	switch fr {
	case frameNDJSON:
		return []*shape{shapeOllama}
	case frameCodes:
		return []*shape{shapeData}
	}
	return sseCandidates
}

var sseCandidates = []*shape{shapeResponses, shapeUI, shapeGemini}

// claims reports whether an answer is an AI stream: an event stream or
// NDJSON answering a request with a body, or any answer with one of the AI
// SDK's stream headers.
func claims(hasBody bool, h http.Header) bool {
	if h.Get(HeaderDataStream) != "" || h.Get(HeaderUIMessageStream) != "" {
		return true
	}
	mt := mediaType(h.Get("Content-Type"))
	return hasBody && (mt == "text/event-stream" || isNDJSON(mt))
}
