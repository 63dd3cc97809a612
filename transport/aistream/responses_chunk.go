package aistream

import "bytes"

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
			c.text = appendString(c.text, top[1])
		}
	case "response.reasoning_summary_text.delta", "response.reasoning_text.delta":
		if isString(top[1]) {
			c.reasoning = appendString(c.reasoning, top[1])
		}
	case "response.function_call_arguments.delta", "response.custom_tool_call_input.delta", "response.mcp_call_arguments.delta":
		if isString(top[1]) {
			c.tool = appendString(c.tool, top[1])
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
			c.errMsg = appendString(c.errMsg, top[3])
		}
		if isString(top[4]) {
			c.errType = appendString(c.errType, top[4])
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
	if !isObject(v) {
		return
	}
	c := &d.c
	f := d.s8b[:len(codeMessage)]
	d.fields(v, codeMessage, f)
	if isString(f[0]) {
		c.errMsg = appendString(c.errMsg, f[0])
	}
	if isString(f[1]) {
		c.errType = appendString(c.errType, f[1])
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
