package aistream

import (
	"bytes"

	"github.com/rtbench/rtbench/transport/internal/jsonscan"
)

// OpenAI Responses API stream events (POST /v1/responses with "stream":
// true): each SSE event's data is an object whose "type" names it. Read as:
//
//	response.output_text.delta, response.refusal.delta     text = delta
//	response.reasoning_summary_text.delta,
//	response.reasoning_text.delta                          reasoning = delta
//	response.function_call_arguments.delta,
//	response.custom_tool_call_input.delta,
//	response.mcp_call_arguments.delta                      tool = delta
//	response.completed, response.incomplete               the terminator; usage from
//	                                                       response.usage (input_tokens,
//	                                                       output_tokens,
//	                                                       output_tokens_details.reasoning_tokens)
//	response.failed                                        error: response.error.message, .code
//	error                                                  error: message, code
//	any other response.* type                              recognised, nothing to read
//	anything else                                          chunkUnknown

var (
	responsesTop   = []string{"type", "delta", "response", "message", "code"}
	responsesResp  = []string{"usage", "error"}
	responsesUsage = []string{"input_tokens", "output_tokens", "output_tokens_details"}
	reasoningName  = []string{"reasoning_tokens"}
	codeMessage    = []string{"message", "code"}
)

var responsePrefix = []byte("response.")

func (d *decoder) decodeResponses(data []byte) (*chunk, error) {
	c := d.reset()
	top := d.top16[:len(responsesTop)]
	isObj, err := d.object(data, responsesTop, top)
	if err != nil || !isObj || !isString(top[0]) {
		return c, err
	}
	typ := d.stringValue(top[0])
	c.kind = chunkFormat
	switch string(typ) {
	case "response.output_text.delta", "response.refusal.delta":
		if isString(top[1]) {
			c.text = jsonscan.AppendString(c.text, top[1])
		}
	case "response.reasoning_summary_text.delta", "response.reasoning_text.delta":
		if isString(top[1]) {
			c.reasoning = jsonscan.AppendString(c.reasoning, top[1])
		}
	case "response.function_call_arguments.delta", "response.custom_tool_call_input.delta", "response.mcp_call_arguments.delta":
		if isString(top[1]) {
			c.tool = jsonscan.AppendString(c.tool, top[1])
		}
	case "response.completed", "response.incomplete":
		c.term = true
		if isObject(top[2]) {
			f := d.s8[:len(responsesResp)]
			d.fields(top[2], responsesResp, f)
			d.responsesUsage(f[0])
		}
	case "response.failed":
		c.kind = chunkError
		if isObject(top[2]) {
			f := d.s8[:len(responsesResp)]
			d.fields(top[2], responsesResp, f)
			d.codeMessage(f[1])
		}
		if len(c.errMsg) == 0 {
			c.errMsg = append(c.errMsg, "response.failed"...)
		}
	case "error":
		c.kind = chunkError
		if isString(top[3]) {
			c.errMsg = jsonscan.AppendString(c.errMsg, top[3])
		}
		if isString(top[4]) {
			c.errType = jsonscan.AppendString(c.errType, top[4])
		}
		if len(c.errMsg) == 0 {
			c.errMsg = append(c.errMsg, "error event"...)
		}
	default:
		if !bytes.HasPrefix(typ, responsePrefix) {
			c.kind = chunkUnknown
		}
	}
	return c, nil
}

// codeMessage reads {"message","code"} into the chunk's error.
func (d *decoder) codeMessage(v []byte) {
	if isObject(v) {
		d.readErrorObject(v, codeMessage, d.s8b[:])
	}
}

func (d *decoder) responsesUsage(v []byte) {
	if !isObject(v) {
		return
	}
	c := &d.c
	f := d.s8b[:len(responsesUsage)]
	d.fields(v, responsesUsage, f)
	if n, ok := parseCount(f[0]); ok {
		c.prompt, c.hasPrompt = n, true
	}
	if n, ok := parseCount(f[1]); ok {
		c.output, c.hasOutput, c.source = n, true, "usage.output_tokens"
	}
	if isObject(f[2]) {
		g := d.s8[:1]
		d.fields(f[2], reasoningName, g)
		if n, ok := parseCount(g[0]); ok {
			c.reasoningTokens, c.hasReasoning = n, true
		}
	}
}

// A non-streamed Responses answer is the response object: {"object":
// "response", "output": [items], "usage": …}. Its text is the output_text
// parts of its message items, its reasoning the summary_text of its
// reasoning items; the usage is read as response.completed's.

var (
	responseObjectTop = []string{"object", "output", "usage", "error"}
	outputItemNames   = []string{"type", "content", "summary"}
	outputPartNames   = []string{"type", "text"}
)

func (d *decoder) decodeResponseObject(data []byte) (*chunk, error) {
	c := d.reset()
	top := d.top16[:len(responseObjectTop)]
	isObj, err := d.object(data, responseObjectTop, top)
	if err != nil || !isObj || !isString(top[0]) || string(d.stringValue(top[0])) != "response" {
		return c, err
	}
	c.kind, c.term = chunkFormat, true
	if isObject(top[3]) {
		c.kind = chunkError
		d.codeMessage(top[3])
		return c, nil
	}
	d.responsesUsage(top[2])
	eachElement(top[1], func(item []byte) {
		if !isObject(item) {
			return
		}
		f := d.s8[:len(outputItemNames)]
		d.fields(item, outputItemNames, f)
		if !isString(f[0]) {
			return
		}
		var parts []byte
		var want string
		switch string(d.stringValue(f[0])) {
		case "message":
			parts, want = f[1], "output_text"
		case "reasoning":
			parts, want = f[2], "summary_text"
		default:
			return
		}
		eachElement(parts, func(p []byte) {
			if !isObject(p) {
				return
			}
			g := d.sub2[:len(outputPartNames)]
			d.fields(p, outputPartNames, g)
			if isString(g[0]) && string(d.stringValue(g[0])) == want && isString(g[1]) {
				if want == "output_text" {
					c.text = jsonscan.AppendString(c.text, g[1])
				} else {
					c.reasoning = jsonscan.AppendString(c.reasoning, g[1])
				}
			}
		})
	})
	return c, nil
}

// eachElement calls f with each element of an array value (valid JSON).
func eachElement(v []byte, f func(el []byte)) {
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
		f(v[i:end])
		i = jsonscan.Space(v, end)
		if v[i] == ']' {
			return
		}
		i++ // ','
	}
}
