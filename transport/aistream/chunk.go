package aistream

import (
	"iter"
	"math"
	"strconv"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/internal/jsonscan"
)

// The client reads each event's data with a small JSON scanner
// (transport/internal/jsonscan) instead of encoding/json: it checks the whole chunk is valid JSON (as json.Valid
// does), picks the few members the three stream shapes use, and decodes
// their strings into reused buffers, so a warm decoder allocates nothing per
// chunk. The rules below are the whole contract; chunk_test.go checks them
// against encoding/json.
//
// A chunk is read as (first match wins; members by exact name, the last of
// duplicates):
//
//	not an object                          chunkUnknown
//	"error" present and not null           chunkError: error.message (or the error string), error.type
//	"type" one of the Anthropic types      chunkAnthropic (chunkAnthropicFull for "message"):
//	    content_block_delta                  text = delta.text when delta.type is "text_delta"
//	    message_start                        prompt = message.usage.input_tokens
//	    message_delta                        output = usage.output_tokens, prompt = usage.input_tokens
//	    message                              text = the text of content[] parts of type "text";
//	                                         prompt, output = usage.input_tokens, usage.output_tokens
//	"choices" an array, or "object" one    chunkOpenAI, or chunkOpenAIFull when object is
//	of the chat.completion objects         "chat.completion" (or, without an object, when
//	                                       choices[0] has a message and no delta):
//	                                         text = choices[0].delta.content (message.content)
//	                                         prompt, output = usage.prompt_tokens, usage.completion_tokens
//	"text" a string                        chunkText: text
//	anything else                          chunkUnknown
//
// Token counts are read when they are JSON numbers holding an integer from 0
// to maxCount. Only the first element of choices is read (n=1 requests).
// Reasoning deltas are not text: Anthropic's thinking_delta (delta.thinking)
// and OpenAI-compatible delta.reasoning_content (else delta.reasoning) are
// reasoning; Anthropic's input_json_delta (delta.partial_json) and
// delta.tool_calls[0].function.arguments are tool arguments; message_stop
// is the terminator. The other formats' decoders are in their own files
// (responses_chunk.go, aisdk_chunk.go, gemini_chunk.go, ollama_chunk.go).

// chunkKind is what a chunk was recognised as.
type chunkKind uint8

const (
	chunkUnknown chunkKind = iota
	chunkError
	chunkOpenAI        // a chat.completion.chunk
	chunkOpenAIFull    // a chat.completion (not streamed)
	chunkAnthropic     // a streamed Messages event
	chunkAnthropicFull // a message object (not streamed)
	chunkText          // {"text": …}: the Next.js tutorial's route
	chunkFormat        // a chunk of the format whose decoder read it (responses_chunk.go …)
)

// anthropicType is the "type" of an Anthropic event.
type anthropicType uint8

const (
	anthNone anthropicType = iota
	anthMessageStart
	anthContentBlockStart
	anthContentBlockDelta
	anthContentBlockStop
	anthMessageDelta
	anthMessageStop
	anthPing
	anthMessage // the non-streamed message object
)

var anthropicTypes = [...]string{
	anthMessageStart:      "message_start",
	anthContentBlockStart: "content_block_start",
	anthContentBlockDelta: "content_block_delta",
	anthContentBlockStop:  "content_block_stop",
	anthMessageDelta:      "message_delta",
	anthMessageStop:       "message_stop",
	anthPing:              "ping",
	anthMessage:           "message",
}

// maxCount bounds a token count read from usage.
const maxCount = 1 << 30

// chunk is one decoded event. Its slices alias the decoder's buffers and are
// valid until the next decode.
type chunk struct {
	kind  chunkKind
	event anthropicType // chunkAnthropic, chunkAnthropicFull

	text      []byte // the answer's text; empty when the chunk carries none
	reasoning []byte // reasoning (thinking) text, which is not the answer
	tool      []byte // tool-call arguments (a delta, or a whole call's)

	prompt, output       int
	hasPrompt, hasOutput bool
	// source names the usage field output came from; reasoningTokens is
	// the part of output spent on reasoning, when the usage says.
	source          string
	reasoningTokens int
	hasReasoning    bool
	// term: this chunk is its format's terminator (message_stop,
	// response.completed, a finishReason, Ollama's done, a d: line).
	term bool
	// server: the server's own timings (Ollama's final line).
	server    transport.ServerTiming
	hasServer bool

	errMsg, errType []byte // chunkError
}

// reset clears the decoder's chunk for the next decode, keeping its buffers.
func (d *decoder) reset() *chunk {
	c := &d.c
	*c = chunk{text: c.text[:0], reasoning: c.reasoning[:0], tool: c.tool[:0], errMsg: c.errMsg[:0], errType: c.errType[:0]}
	return c
}

// object checks that data is one valid JSON value and, when it is an
// object, sets vals[k] to its member named names[k] (nil when absent). The
// error is the decoder's *syntaxError.
func (d *decoder) object(data []byte, names []string, vals [][]byte) (isObj bool, err error) {
	clear(vals)
	i := jsonscan.Space(data, 0)
	var end int
	var ok bool
	if i < len(data) && data[i] == '{' {
		isObj = true
		end, ok = jsonscan.Object(data, i, 0, names, vals, &d.key)
	} else {
		end, ok = jsonscan.Value(data, i, 0)
	}
	if ok {
		end = jsonscan.Space(data, end)
		ok = end == len(data)
	}
	if !ok {
		d.syntax.Offset = end
		return false, &d.syntax
	}
	return isObj, nil
}

// syntaxError is a chunk that is not valid JSON.
type syntaxError struct {
	Offset int // the byte at which the scanner gave up
}

func (e *syntaxError) Error() string {
	return "invalid JSON at byte " + strconv.Itoa(e.Offset)
}

// decoder decodes chunks into one reused chunk. It is not safe for
// concurrent use.
type decoder struct {
	c      chunk
	key    []byte // scratch for keys with escapes
	str    []byte // scratch for short string values compared to constants
	vals   [9][]byte
	sub    [4][]byte
	sub2   [4][]byte
	syntax syntaxError

	// Scratch for the other formats' decoders (responses_chunk.go …).
	top16 [16][]byte
	s8    [8][]byte
	s8b   [8][]byte
}

// Member names, by scan.
var (
	topNames    = []string{"error", "type", "choices", "object", "usage", "text", "delta", "message", "content"}
	contentName = []string{"content"}
	usageNames  = []string{"prompt_tokens", "completion_tokens", "input_tokens", "output_tokens"}
	errorNames  = []string{"message", "type"}
	choiceNames = []string{"delta", "message"}
	deltaNames  = []string{"type", "text"}

	anthropicDeltaNames = []string{"type", "text", "thinking", "partial_json"}
	openAIDeltaNames    = []string{"content", "reasoning_content", "reasoning", "tool_calls"}
	toolCallNames       = []string{"function"}
	argumentsName       = []string{"arguments"}
	messageNames        = []string{"usage", "content"}
)

const (
	topError = iota
	topType
	topChoices
	topObject
	topUsage
	topText
	topDelta
	topMessage
	topContent
)

// decode reads one chunk. The error is a *syntaxError (owned by the decoder)
// when data is not valid JSON.
func (d *decoder) decode(data []byte) (*chunk, error) {
	c := d.reset()
	top := d.vals[:len(topNames)]
	isObject, err := d.object(data, topNames, top)
	if err != nil {
		return nil, err
	}
	if !isObject {
		return c, nil
	}
	switch {
	case top[topError] != nil && !isNull(top[topError]):
		c.kind = chunkError
		d.readError(top[topError])
	case d.anthropic(top[topType]):
		d.readAnthropic(top)
	case isArray(top[topChoices]) || d.isOpenAIObject(top[topObject]):
		d.readOpenAI(top)
	case isString(top[topText]):
		c.kind = chunkText
		c.text = jsonscan.AppendString(c.text, top[topText])
	}
	return c, nil
}

func (d *decoder) readError(v []byte) {
	c := &d.c
	switch {
	case isString(v):
		c.errMsg = jsonscan.AppendString(c.errMsg, v)
	case isObject(v):
		d.readErrorObject(v, errorNames, d.sub[:])
	}
}

// readErrorObject appends the error object v's message and type, the
// string members named names[0] and names[1], to the chunk's error, with
// scratch (of at least two) holding the members.
func (d *decoder) readErrorObject(v []byte, names []string, scratch [][]byte) {
	f := scratch[:2]
	d.fields(v, names, f)
	if isString(f[0]) {
		d.c.errMsg = jsonscan.AppendString(d.c.errMsg, f[0])
	}
	if isString(f[1]) {
		d.c.errType = jsonscan.AppendString(d.c.errType, f[1])
	}
}

// anthropic reports whether the type member names an Anthropic event, and
// notes which.
func (d *decoder) anthropic(v []byte) bool {
	if !isString(v) {
		return false
	}
	s := d.stringValue(v)
	for t, name := range anthropicTypes {
		if name != "" && string(s) == name {
			d.c.event = anthropicType(t)
			return true
		}
	}
	return false
}

func (d *decoder) readAnthropic(top [][]byte) {
	c := &d.c
	c.kind = chunkAnthropic
	switch c.event {
	case anthContentBlockDelta:
		if !isObject(top[topDelta]) {
			return
		}
		f := d.sub[:len(anthropicDeltaNames)]
		d.fields(top[topDelta], anthropicDeltaNames, f)
		if !isString(f[0]) {
			return
		}
		switch string(d.stringValue(f[0])) {
		case "text_delta":
			if isString(f[1]) {
				c.text = jsonscan.AppendString(c.text, f[1])
			}
		case "thinking_delta":
			if isString(f[2]) {
				c.reasoning = jsonscan.AppendString(c.reasoning, f[2])
			}
		case "input_json_delta":
			if isString(f[3]) {
				c.tool = jsonscan.AppendString(c.tool, f[3])
			}
		}
	case anthMessageStart:
		if !isObject(top[topMessage]) {
			return
		}
		f := d.sub[:len(messageNames)]
		d.fields(top[topMessage], messageNames, f)
		d.readUsage(f[0])
		c.output, c.hasOutput = 0, false // message_start's output_tokens is a placeholder
	case anthMessageDelta:
		d.readUsage(top[topUsage])
	case anthMessageStop:
		c.term = true
	case anthMessage:
		c.kind = chunkAnthropicFull
		d.readUsage(top[topUsage])
		d.readParts(top[topContent])
	}
}

// readParts appends the text of every {"type":"text","text":…} element of
// an array of content blocks.
func (d *decoder) readParts(v []byte) {
	for el := range elements(v) {
		if !isObject(el) {
			continue
		}
		f := d.sub2[:len(deltaNames)]
		d.fields(el, deltaNames, f)
		if isString(f[0]) && string(d.stringValue(f[0])) == "text" && isString(f[1]) {
			d.c.text = jsonscan.AppendString(d.c.text, f[1])
		}
	}
}

func (d *decoder) isOpenAIObject(v []byte) bool {
	if !isString(v) {
		return false
	}
	s := d.stringValue(v)
	return string(s) == "chat.completion.chunk" || string(s) == "chat.completion"
}

func (d *decoder) readOpenAI(top [][]byte) {
	c := &d.c
	c.kind = chunkOpenAI
	object := top[topObject]
	full := isString(object) && string(d.stringValue(object)) == "chat.completion"
	chunkObject := isString(object) && string(d.stringValue(object)) == "chat.completion.chunk"
	d.readUsage(top[topUsage])
	first := firstElement(top[topChoices])
	var f [][]byte
	if isObject(first) {
		f = d.sub[:len(choiceNames)]
		d.fields(first, choiceNames, f)
		if !full && !chunkObject && f[0] == nil && f[1] != nil {
			full = true
		}
	}
	if full {
		c.kind = chunkOpenAIFull
	}
	if f == nil {
		return
	}
	body := f[0]
	if full {
		body = f[1]
	}
	if !isObject(body) {
		return
	}
	if full {
		g := d.sub2[:1]
		d.fields(body, contentName, g)
		if isString(g[0]) {
			c.text = jsonscan.AppendString(c.text, g[0])
		}
		return
	}
	g := d.sub2[:len(openAIDeltaNames)]
	d.fields(body, openAIDeltaNames, g)
	if isString(g[0]) {
		c.text = jsonscan.AppendString(c.text, g[0])
	}
	switch {
	case isString(g[1]):
		c.reasoning = jsonscan.AppendString(c.reasoning, g[1])
	case isString(g[2]):
		c.reasoning = jsonscan.AppendString(c.reasoning, g[2])
	}
	// tool_calls[0].function.arguments
	if call := firstElement(g[3]); isObject(call) {
		h := d.sub[:1]
		d.fields(call, toolCallNames, h)
		if isObject(h[0]) {
			d.fields(h[0], argumentsName, h)
			if isString(h[0]) {
				c.tool = jsonscan.AppendString(c.tool, h[0])
			}
		}
	}
}

// readUsage reads the token counts of a usage object, whichever API's names
// it uses.
func (d *decoder) readUsage(v []byte) {
	if !isObject(v) {
		return
	}
	c := &d.c
	f := d.sub2[:len(usageNames)]
	d.fields(v, usageNames, f)
	for k, v := range f {
		n, ok := parseCount(v)
		if !ok {
			continue
		}
		switch k {
		case 0, 2:
			c.prompt, c.hasPrompt = n, true
		case 1:
			c.output, c.hasOutput, c.source = n, true, "usage.completion_tokens"
		case 3:
			c.output, c.hasOutput, c.source = n, true, "usage.output_tokens"
		}
	}
}

// firstElement returns the first element of an array value, or nil.
func firstElement(v []byte) []byte {
	for el := range elements(v) {
		return el
	}
	return nil
}

// elements yields the elements of an array value (valid JSON, checked by
// the decoder's object scan), none when v is not an array.
func elements(v []byte) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		if !isArray(v) {
			return
		}
		i := jsonscan.Space(v, 1)
		if v[i] == ']' {
			return
		}
		for {
			i = jsonscan.Space(v, i)
			end, _ := jsonscan.Value(v, i, 0)
			if !yield(v[i:end]) {
				return
			}
			i = jsonscan.Space(v, end)
			if v[i] == ']' {
				return
			}
			i++ // ','
		}
	}
}

// stringValue returns the contents of a string value, decoded when it has
// escapes (into a scratch buffer valid until the next call).
func (d *decoder) stringValue(v []byte) []byte {
	raw := v[1 : len(v)-1]
	if !jsonscan.HasBackslash(raw) {
		return raw
	}
	d.str = jsonscan.AppendString(d.str[:0], v)
	return d.str
}

// fields scans the object v (valid JSON, from its '{') and sets vals[k] to
// the value of its last member named names[k], nil when there is none.
func (d *decoder) fields(v []byte, names []string, vals [][]byte) {
	clear(vals)
	jsonscan.Object(v, 0, 0, names, vals, &d.key)
}

// parseNanos reads a duration in nanoseconds: a JSON number holding an
// integer in [0, 2^62].
func parseNanos(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 19 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' || n > (1<<62)/10 {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, n <= 1<<62
}

// parseCount reads a token count: a JSON number holding an integer in
// [0, maxCount]. Other values (strings, fractions, negatives) are not counts.
func parseCount(v []byte) (int, bool) {
	if len(v) == 0 || !(v[0] == '-' || v[0] >= '0' && v[0] <= '9') {
		return 0, false
	}
	if len(v) <= 10 {
		n, digits := 0, true
		for _, c := range v {
			if c < '0' || c > '9' {
				digits = false
				break
			}
			n = n*10 + int(c-'0')
		}
		if digits {
			return n, n <= maxCount
		}
	}
	// 1e3, 12.0, -0, long forms: read as encoding/json reads a number into
	// an interface{}, as a float64.
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil || f != math.Trunc(f) || f < 0 || f > maxCount {
		return 0, false
	}
	return int(f), true
}

func isNull(v []byte) bool   { return len(v) == 4 && string(v) == "null" }
func isString(v []byte) bool { return len(v) > 0 && v[0] == '"' }
func isObject(v []byte) bool { return len(v) > 0 && v[0] == '{' }
func isArray(v []byte) bool  { return len(v) > 0 && v[0] == '[' }

// apiErrorNames are the members an error body explains itself with:
// {"error":{"message","type"}} (OpenAI, Anthropic), {"error":"…"} (the mock's
// /api/chat, many proxies), {"message":"…"} (vLLM, gateways), {"detail":"…"}
// (FastAPI).
var apiErrorNames = []string{"error", "message", "detail", "type"}

// apiError reads the message and type of an error body. ok is false when the
// body is not a JSON object that has one.
func (d *decoder) apiError(b []byte) (msg, typ []byte, ok bool) {
	i := jsonscan.Space(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, nil, false
	}
	f := d.vals[:len(apiErrorNames)]
	clear(f)
	end, valid := jsonscan.Object(b, i, 0, apiErrorNames, f, &d.key)
	if !valid || jsonscan.Space(b, end) != len(b) {
		return nil, nil, false
	}
	c := &d.c
	c.errMsg, c.errType = c.errMsg[:0], c.errType[:0]
	switch {
	case isString(f[0]) || isObject(f[0]):
		d.readError(f[0])
	case isString(f[1]):
		c.errMsg = jsonscan.AppendString(c.errMsg, f[1])
	case isString(f[2]):
		c.errMsg = jsonscan.AppendString(c.errMsg, f[2])
	case isObject(f[2]):
		d.readError(f[2])
	}
	if len(c.errType) == 0 && isString(f[3]) && !isObject(f[0]) {
		c.errType = jsonscan.AppendString(c.errType, f[3])
	}
	return c.errMsg, c.errType, len(c.errMsg) > 0
}

// streamRequested reports whether a request body is a JSON object with
// "stream": true.
func (d *decoder) streamRequested(body []byte) bool {
	i := jsonscan.Space(body, 0)
	if i >= len(body) || body[i] != '{' {
		return false
	}
	f := d.sub[:1]
	f[0] = nil
	if _, ok := jsonscan.Object(body, i, 0, streamName, f, &d.key); !ok {
		return false
	}
	return string(f[0]) == "true"
}

var streamName = []string{"stream"}
