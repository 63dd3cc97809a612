package aistream

import (
	"bytes"

	"github.com/rtbench/rtbench/transport/internal/jsonscan"
)

// The Vercel AI SDK's two stream protocols.
//
// The UI message stream (AI SDK 5, x-vercel-ai-ui-message-stream: v1) is
// SSE whose data are parts {"type": …}, ended by data: [DONE]:
//
//	text-delta                   text = delta
//	reasoning-delta              reasoning = delta
//	tool-input-delta             tool = inputTextDelta
//	error                        error: errorText
//	abort                        error: the stream was aborted
//	start, finish, start-step, finish-step, text-start, text-end,
//	reasoning-start, reasoning-end, tool-input-start, tool-input-available,
//	tool-input-error, tool-output-available, tool-output-error,
//	source-url, source-document, file, message-metadata, data-*
//	                             recognised, nothing to read
//	anything else                chunkUnknown
//
// The data stream (AI SDK 3.x/4.x, x-vercel-ai-data-stream: v1) is
// text/plain lines CODE:JSON, ended by the d: line:
//
//	0:"…"   text            g:"…"   reasoning
//	c:{"toolCallId","argsTextDelta"}   tool = argsTextDelta
//	9:{"toolCallId","toolName","args"} tool = args (the whole call, as JSON)
//	3:"…"   error
//	d:{"finishReason","usage":{"promptTokens","completionTokens"}}   the terminator and its usage
//	2: 8: a: b: e: f: h: i: j: k:   recognised, nothing to read
//
// A line whose code is none of these, or whose value has the wrong JSON
// type, is chunkUnknown.

var (
	uiTop   = []string{"type", "delta", "inputTextDelta", "errorText"}
	uiParts = []string{"start", "finish", "start-step", "finish-step", "text-start", "text-end",
		"reasoning-start", "reasoning-end", "tool-input-start", "tool-input-available", "tool-input-error",
		"tool-output-available", "tool-output-error", "source-url", "source-document", "file", "message-metadata"}
	dataPrefix = []byte("data-")
)

func (d *decoder) decodeUI(data []byte) (*chunk, error) {
	c := d.reset()
	top := d.top16[:len(uiTop)]
	isObj, err := d.object(data, uiTop, top)
	if err != nil || !isObj || !isString(top[0]) {
		return c, err
	}
	typ := d.stringValue(top[0])
	c.kind = chunkFormat
	switch string(typ) {
	case "text-delta":
		if isString(top[1]) {
			c.text = jsonscan.AppendString(c.text, top[1])
		}
	case "reasoning-delta":
		if isString(top[1]) {
			c.reasoning = jsonscan.AppendString(c.reasoning, top[1])
		}
	case "tool-input-delta":
		if isString(top[2]) {
			c.tool = jsonscan.AppendString(c.tool, top[2])
		}
	case "error":
		c.kind = chunkError
		if isString(top[3]) {
			c.errMsg = jsonscan.AppendString(c.errMsg, top[3])
		}
		if len(c.errMsg) == 0 {
			c.errMsg = append(c.errMsg, "error part"...)
		}
	case "abort":
		c.kind = chunkError
		c.errMsg = append(c.errMsg, "the stream was aborted (abort part)"...)
	default:
		if !bytes.HasPrefix(typ, dataPrefix) && !isOneOf(typ, uiParts) {
			c.kind = chunkUnknown
		}
	}
	return c, nil
}

func isOneOf(b []byte, names []string) bool {
	for _, n := range names {
		if string(b) == n {
			return true
		}
	}
	return false
}

var (
	toolDeltaNames  = []string{"argsTextDelta"}
	toolCallArgs    = []string{"args"}
	finishNames     = []string{"usage"}
	dataStreamUsage = []string{"promptTokens", "completionTokens"}
)

// decodeDataLine reads one data stream line: code is what precedes its
// first colon, data what follows.
func (d *decoder) decodeDataLine(code string, data []byte) (*chunk, error) {
	c := d.reset()
	f := d.top16[:1]
	var names []string
	switch code {
	case "c":
		names = toolDeltaNames
	case "9":
		names = toolCallArgs
	case "d":
		names = finishNames
	}
	isObj, err := d.object(data, names, f[:len(names)])
	if err != nil {
		return c, err
	}
	v := bytes.TrimSpace(data)
	c.kind = chunkFormat
	switch code {
	case "0", "g", "3":
		if !isString(v) {
			c.kind = chunkUnknown
			break
		}
		switch code {
		case "0":
			c.text = jsonscan.AppendString(c.text, v)
		case "g":
			c.reasoning = jsonscan.AppendString(c.reasoning, v)
		default:
			c.kind = chunkError
			c.errMsg = jsonscan.AppendString(c.errMsg, v)
			if len(c.errMsg) == 0 {
				c.errMsg = append(c.errMsg, "error line (3:)"...)
			}
		}
	case "c":
		if !isObj {
			c.kind = chunkUnknown
		} else if isString(f[0]) {
			c.tool = jsonscan.AppendString(c.tool, f[0])
		}
	case "9":
		if !isObj {
			c.kind = chunkUnknown
		} else if f[0] != nil {
			c.tool = append(c.tool, f[0]...)
		}
	case "d":
		if !isObj {
			c.kind = chunkUnknown
			break
		}
		c.term = true
		if isObject(f[0]) {
			u := d.s8[:len(dataStreamUsage)]
			d.fields(f[0], dataStreamUsage, u)
			if n, ok := parseCount(u[0]); ok {
				c.prompt, c.hasPrompt = n, true
			}
			if n, ok := parseCount(u[1]); ok {
				c.output, c.hasOutput, c.source = n, true, "d: usage.completionTokens"
			}
		}
	case "2", "8", "a", "b", "e", "f", "h", "i", "j", "k":
	default:
		c.kind = chunkUnknown
	}
	return c, nil
}
