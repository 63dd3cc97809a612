package aistream

import (
	"time"

	"github.com/rtbench/rtbench/transport/internal/jsonscan"
)

// Ollama's /api/chat and /api/generate streams are NDJSON: one object per
// line. Read as:
//
//	error (a string)                  error
//	done (true or false) with model, message or response: recognised, and
//	  message.content, response       text
//	  message.thinking, thinking      reasoning
//	  message.tool_calls (non-empty)  tool = its JSON
//	  done: true                      the terminator, with prompt = prompt_eval_count,
//	                                  output = eval_count and the server's timings
//	                                  (total_, load_, prompt_eval_, eval_duration, in ns)
//	anything else                     chunkUnknown

var (
	ollamaTop     = []string{"done", "model", "message", "response", "thinking", "error", "eval_count", "prompt_eval_count", "total_duration", "load_duration", "prompt_eval_duration", "eval_duration"}
	ollamaMessage = []string{"content", "thinking", "tool_calls"}
)

func (d *decoder) decodeOllama(data []byte) (*chunk, error) {
	c := d.reset()
	top := d.top16[:len(ollamaTop)]
	isObj, err := d.object(data, ollamaTop, top)
	if err != nil || !isObj {
		return c, err
	}
	if isString(top[5]) {
		c.kind = chunkError
		c.errMsg = jsonscan.AppendString(c.errMsg, top[5])
		if len(c.errMsg) == 0 {
			c.errMsg = append(c.errMsg, "error line"...)
		}
		return c, nil
	}
	done := string(top[0]) == "true"
	if !done && string(top[0]) != "false" || top[1] == nil && top[2] == nil && top[3] == nil {
		return c, nil
	}
	c.kind = chunkFormat
	if isObject(top[2]) {
		f := d.s8[:len(ollamaMessage)]
		d.fields(top[2], ollamaMessage, f)
		if isString(f[0]) {
			c.text = jsonscan.AppendString(c.text, f[0])
		}
		if isString(f[1]) {
			c.reasoning = jsonscan.AppendString(c.reasoning, f[1])
		}
		if isArray(f[2]) && firstElement(f[2]) != nil {
			c.tool = append(c.tool, f[2]...)
		}
	}
	if isString(top[3]) {
		c.text = jsonscan.AppendString(c.text, top[3])
	}
	if isString(top[4]) {
		c.reasoning = jsonscan.AppendString(c.reasoning, top[4])
	}
	if !done {
		return c, nil
	}
	c.term = true
	s := &c.server
	if n, ok := parseCount(top[6]); ok {
		c.output, c.hasOutput, c.source = n, true, "eval_count"
		s.EvalCount, c.hasServer = n, true
	}
	if n, ok := parseCount(top[7]); ok {
		c.prompt, c.hasPrompt = n, true
		s.PromptEvalCount, c.hasServer = n, true
	}
	for k, dst := range [...]*time.Duration{&s.Total, &s.Load, &s.PromptEval, &s.Eval} {
		if n, ok := parseNanos(top[8+k]); ok {
			*dst, c.hasServer = time.Duration(n), true
		}
	}
	return c, nil
}
