package aistream

import "github.com/rtbench/rtbench/transport/internal/jsonscan"

// Google Gemini streamGenerateContent?alt=sse: each SSE event's data is a
// GenerateContentResponse. Read as:
//
//	error (an object)                 error: error.message, error.status
//	promptFeedback.blockReason        error: the prompt was blocked
//	candidates[0].content.parts[]     text = the text of parts without "thought": true;
//	                                  reasoning = the text of parts with it;
//	                                  tool = each functionCall part's JSON
//	candidates[0].finishReason        the terminator (the stream's last chunk has it)
//	usageMetadata                     prompt = promptTokenCount; output =
//	                                  candidatesTokenCount + thoughtsTokenCount;
//	                                  reasoning tokens = thoughtsTokenCount
//
// A chunk with none of candidates, usageMetadata, promptFeedback and error
// is chunkUnknown.

var (
	geminiTop       = []string{"candidates", "usageMetadata", "promptFeedback", "error"}
	geminiCandidate = []string{"content", "finishReason"}
	geminiParts     = []string{"parts"}
	geminiPart      = []string{"text", "thought", "functionCall"}
	geminiUsage     = []string{"promptTokenCount", "candidatesTokenCount", "thoughtsTokenCount"}
	geminiFeedback  = []string{"blockReason"}
	geminiError     = []string{"message", "status"}
)

func (d *decoder) decodeGemini(data []byte) (*chunk, error) {
	c := d.reset()
	top := d.top16[:len(geminiTop)]
	isObj, err := d.object(data, geminiTop, top)
	if err != nil || !isObj {
		return c, err
	}
	switch {
	case isObject(top[3]):
		c.kind = chunkError
		f := d.s8[:len(geminiError)]
		d.fields(top[3], geminiError, f)
		if isString(f[0]) {
			c.errMsg = jsonscan.AppendString(c.errMsg, f[0])
		}
		if isString(f[1]) {
			c.errType = jsonscan.AppendString(c.errType, f[1])
		}
		if len(c.errMsg) == 0 {
			c.errMsg = append(c.errMsg, "error chunk"...)
		}
		return c, nil
	case isArray(top[0]) || isObject(top[1]) || isObject(top[2]):
		c.kind = chunkFormat
	default:
		return c, nil
	}
	if isObject(top[2]) {
		f := d.s8[:1]
		d.fields(top[2], geminiFeedback, f)
		if isString(f[0]) {
			c.kind = chunkError
			c.errMsg = append(c.errMsg, "the prompt was blocked: "...)
			c.errMsg = jsonscan.AppendString(c.errMsg, f[0])
			c.errType = append(c.errType, "blockReason"...)
			return c, nil
		}
	}
	if cand := firstElement(top[0]); isObject(cand) {
		f := d.s8[:len(geminiCandidate)]
		d.fields(cand, geminiCandidate, f)
		if isString(f[1]) {
			c.term = true
		}
		if isObject(f[0]) {
			g := d.s8b[:1]
			d.fields(f[0], geminiParts, g)
			d.geminiParts(g[0])
		}
	}
	if isObject(top[1]) {
		f := d.s8[:len(geminiUsage)]
		d.fields(top[1], geminiUsage, f)
		if n, ok := parseCount(f[0]); ok {
			c.prompt, c.hasPrompt = n, true
		}
		out, hasOut := parseCount(f[1])
		thoughts, hasThoughts := parseCount(f[2])
		if hasThoughts {
			c.reasoningTokens, c.hasReasoning = thoughts, true
		}
		if hasOut || hasThoughts {
			c.output, c.hasOutput = out+thoughts, true
			c.source = "usageMetadata.candidatesTokenCount"
			if hasThoughts {
				c.source = "usageMetadata.candidatesTokenCount+thoughtsTokenCount"
			}
		}
	}
	return c, nil
}

// geminiParts reads an array of parts.
func (d *decoder) geminiParts(v []byte) {
	c := &d.c
	for el := range elements(v) {
		if !isObject(el) {
			continue
		}
		f := d.sub2[:len(geminiPart)]
		d.fields(el, geminiPart, f)
		switch {
		case isString(f[0]) && string(f[1]) == "true":
			c.reasoning = jsonscan.AppendString(c.reasoning, f[0])
		case isString(f[0]):
			c.text = jsonscan.AppendString(c.text, f[0])
		case isObject(f[2]):
			c.tool = append(c.tool, f[2]...)
		}
	}
}
