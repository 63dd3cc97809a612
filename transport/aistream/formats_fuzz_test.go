package aistream

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/sse"
)

// The fuzz targets of the decoders of responses_chunk.go, aisdk_chunk.go,
// gemini_chunk.go and ollama_chunk.go: for any input, no panic; an error
// exactly when json.Valid refuses the JSON; and a valid chunk decodes to
// what a slow reference written with encoding/json reads from it, following
// the rules at the top of each file.

// jv is a decoded JSON value, with numbers kept as json.Number.
type jv = any

func refValue(data []byte) (jv, bool) {
	if !json.Valid(data) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		panic("json.Valid accepted what Decode refuses: " + err.Error())
	}
	return v, true
}

func rstr(v any) (string, bool) { s, ok := v.(string); return s, ok }
func robj(v any) map[string]any { m, _ := v.(map[string]any); return m }
func rarr(v any) ([]any, bool)  { a, ok := v.([]any); return a, ok }
func rcount(v any) (int, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || f != math.Trunc(f) || f < 0 || f > maxCount {
		return 0, false
	}
	return int(f), true
}

// rraw re-encodes a value as the decoder copies it: the raw JSON text. The
// reference cannot know the original spacing, so tool bytes are compared
// by their JSON meaning (sameJSON).
func sameJSON(a, b string) bool {
	if a == b {
		return true
	}
	va, oka := refValue([]byte(a))
	vb, okb := refValue([]byte(b))
	if !oka || !okb {
		return false
	}
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	return bytes.Equal(ja, jb)
}

func refResponses(data []byte) (decoded, bool) {
	v, ok := refValue(data)
	var out decoded
	top := robj(v)
	if !ok || top == nil {
		return out, ok
	}
	typ, isStr := rstr(top["type"])
	if !isStr {
		return out, true
	}
	out.kind = chunkFormat
	delta, _ := rstr(top["delta"])
	resp := robj(top["response"])
	switch typ {
	case "response.output_text.delta", "response.refusal.delta":
		out.text = delta
	case "response.reasoning_summary_text.delta", "response.reasoning_text.delta":
		out.reasoning = delta
	case "response.function_call_arguments.delta", "response.custom_tool_call_input.delta", "response.mcp_call_arguments.delta":
		out.tool = delta
	case "response.completed", "response.incomplete":
		out.term = true
		if u := robj(resp["usage"]); u != nil {
			if n, ok := rcount(u["input_tokens"]); ok {
				out.prompt, out.hasPrompt = n, true
			}
			if n, ok := rcount(u["output_tokens"]); ok {
				out.output, out.hasOutput = n, true
			}
		}
	case "response.failed":
		out.kind = chunkError
		if e := robj(resp["error"]); e != nil {
			out.errMsg, _ = rstr(e["message"])
			out.errType, _ = rstr(e["code"])
		}
		if out.errMsg == "" {
			out.errMsg = "response.failed"
		}
	case "error":
		out.kind = chunkError
		out.errMsg, _ = rstr(top["message"])
		out.errType, _ = rstr(top["code"])
		if out.errMsg == "" {
			out.errMsg = "error event"
		}
	default:
		if !strings.HasPrefix(typ, "response.") {
			out.kind = chunkUnknown
		}
	}
	return out, true
}

func refUI(data []byte) (decoded, bool) {
	v, ok := refValue(data)
	var out decoded
	top := robj(v)
	if !ok || top == nil {
		return out, ok
	}
	typ, isStr := rstr(top["type"])
	if !isStr {
		return out, true
	}
	out.kind = chunkFormat
	switch typ {
	case "text-delta":
		out.text, _ = rstr(top["delta"])
	case "reasoning-delta":
		out.reasoning, _ = rstr(top["delta"])
	case "tool-input-delta":
		out.tool, _ = rstr(top["inputTextDelta"])
	case "error":
		out.kind = chunkError
		out.errMsg, _ = rstr(top["errorText"])
		if out.errMsg == "" {
			out.errMsg = "error part"
		}
	case "abort":
		out.kind, out.errMsg = chunkError, "the stream was aborted (abort part)"
	default:
		if !strings.HasPrefix(typ, "data-") && !slices.Contains(uiParts, typ) {
			out.kind = chunkUnknown
		}
	}
	return out, true
}

func refDataLine(code string, data []byte) (decoded, bool) {
	v, ok := refValue(data)
	var out decoded
	if !ok {
		return out, false
	}
	out.kind = chunkFormat
	s, isStr := rstr(v)
	o := robj(v)
	switch code {
	case "0", "g", "3":
		switch {
		case !isStr:
			out.kind = chunkUnknown
		case code == "0":
			out.text = s
		case code == "g":
			out.reasoning = s
		default:
			out.kind, out.errMsg = chunkError, s
			if s == "" {
				out.errMsg = "error line (3:)"
			}
		}
	case "c":
		if o == nil {
			out.kind = chunkUnknown
		} else {
			out.tool, _ = rstr(o["argsTextDelta"])
		}
	case "9":
		if o == nil {
			out.kind = chunkUnknown
		} else if a, ok := o["args"]; ok {
			b, _ := json.Marshal(a)
			out.tool = string(b)
		}
	case "d":
		if o == nil {
			out.kind = chunkUnknown
			break
		}
		out.term = true
		if u := robj(o["usage"]); u != nil {
			if n, ok := rcount(u["promptTokens"]); ok {
				out.prompt, out.hasPrompt = n, true
			}
			if n, ok := rcount(u["completionTokens"]); ok {
				out.output, out.hasOutput = n, true
			}
		}
	case "2", "8", "a", "b", "e", "f", "h", "i", "j", "k":
	default:
		out.kind = chunkUnknown
	}
	return out, true
}

func refGemini(data []byte) (decoded, bool) {
	v, ok := refValue(data)
	var out decoded
	top := robj(v)
	if !ok || top == nil {
		return out, ok
	}
	if e := robj(top["error"]); e != nil {
		out.kind = chunkError
		out.errMsg, _ = rstr(e["message"])
		out.errType, _ = rstr(e["status"])
		if out.errMsg == "" {
			out.errMsg = "error chunk"
		}
		return out, true
	}
	cands, isArr := rarr(top["candidates"])
	usage, feedback := robj(top["usageMetadata"]), robj(top["promptFeedback"])
	if !isArr && usage == nil && feedback == nil {
		return out, true
	}
	out.kind = chunkFormat
	if feedback != nil {
		if r, ok := rstr(feedback["blockReason"]); ok {
			out.kind, out.errMsg, out.errType = chunkError, "the prompt was blocked: "+r, "blockReason"
			return out, true
		}
	}
	if len(cands) > 0 {
		if c := robj(cands[0]); c != nil {
			if _, ok := rstr(c["finishReason"]); ok {
				out.term = true
			}
			if content := robj(c["content"]); content != nil {
				parts, _ := rarr(content["parts"])
				for _, p := range parts {
					p := robj(p)
					if p == nil {
						continue
					}
					text, isText := rstr(p["text"])
					thought, _ := p["thought"].(bool)
					switch {
					case isText && thought:
						out.reasoning += text
					case isText:
						out.text += text
					case robj(p["functionCall"]) != nil:
						b, _ := json.Marshal(p["functionCall"])
						out.tool += string(b)
					}
				}
			}
		}
	}
	if usage != nil {
		if n, ok := rcount(usage["promptTokenCount"]); ok {
			out.prompt, out.hasPrompt = n, true
		}
		o, hasO := rcount(usage["candidatesTokenCount"])
		th, hasTh := rcount(usage["thoughtsTokenCount"])
		if hasO || hasTh {
			out.output, out.hasOutput = o+th, true
		}
	}
	return out, true
}

// refOllama also returns the server timings.
func refOllama(data []byte) (decoded, transport.ServerTiming, bool) {
	v, ok := refValue(data)
	var out decoded
	var st transport.ServerTiming
	top := robj(v)
	if !ok || top == nil {
		return out, st, ok
	}
	if e, ok := rstr(top["error"]); ok {
		out.kind, out.errMsg = chunkError, e
		if e == "" {
			out.errMsg = "error line"
		}
		return out, st, true
	}
	done, isBool := top["done"].(bool)
	_, hasModel := top["model"]
	_, hasMessage := top["message"]
	_, hasResponse := top["response"]
	if !isBool || !hasModel && !hasMessage && !hasResponse {
		return out, st, true
	}
	out.kind = chunkFormat
	if m := robj(top["message"]); m != nil {
		out.text, _ = rstr(m["content"])
		out.reasoning, _ = rstr(m["thinking"])
		if calls, ok := rarr(m["tool_calls"]); ok && len(calls) > 0 {
			b, _ := json.Marshal(calls)
			out.tool = string(b)
		}
	}
	if r, ok := rstr(top["response"]); ok {
		out.text += r
	}
	if r, ok := rstr(top["thinking"]); ok {
		out.reasoning += r
	}
	if !done {
		return out, st, true
	}
	out.term = true
	if n, ok := rcount(top["eval_count"]); ok {
		out.output, out.hasOutput, st.EvalCount = n, true, n
	}
	if n, ok := rcount(top["prompt_eval_count"]); ok {
		out.prompt, out.hasPrompt, st.PromptEvalCount = n, true, n
	}
	nanos := func(v any) time.Duration {
		n, ok := v.(json.Number)
		if !ok || strings.ContainsAny(string(n), ".eE-") || len(n) > 19 {
			return 0
		}
		i, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil || i > 1<<62 {
			return 0
		}
		return time.Duration(i)
	}
	st.Total, st.Load = nanos(top["total_duration"]), nanos(top["load_duration"])
	st.PromptEval, st.Eval = nanos(top["prompt_eval_duration"]), nanos(top["eval_duration"])
	return out, st, true
}

// compareDecoded checks a decoder's chunk against the reference's; tool
// bytes that are raw JSON are compared by meaning.
func compareDecoded(t *testing.T, got *chunk, want decoded) {
	t.Helper()
	g := snapshot(got)
	g.event = 0
	if !sameJSON(g.tool, want.tool) {
		t.Fatalf("tool %q, reference %q", g.tool, want.tool)
	}
	g.tool, want.tool = "", ""
	if g != want {
		t.Fatalf("decoded %+v\nreference %+v", g, want)
	}
}

// seedLines returns the data of every event (SSE files) or line (NDJSON
// and data stream files) of the recorded streams named by the patterns.
func seedLines(tb testing.TB, patterns ...string) [][]byte {
	var out [][]byte
	for _, pat := range patterns {
		files, err := filepath.Glob(filepath.Join("testdata", "streams", pat))
		if err != nil || len(files) == 0 {
			tb.Fatalf("no seed files %s: %v", pat, err)
		}
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				tb.Fatal(err)
			}
			for line := range strings.SplitSeq(strings.ReplaceAll(string(b), "\r", ""), "\n") {
				if data, ok := strings.CutPrefix(line, "data: "); ok {
					out = append(out, []byte(data))
				} else if line != "" && !strings.HasPrefix(line, "event:") {
					out = append(out, []byte(line))
				}
			}
		}
	}
	return out
}

var jsonEdges = []string{`{`, ``, `null`, `[]`, `"x"`, `{"a":1}}`, `{"type":"x\u0000"}`, "{\"type\":\"text-delta\",\"delta\":\"a\xffb\"}"}

func FuzzResponsesChunk(f *testing.F) {
	for _, b := range seedLines(f, "responses*.sse") {
		f.Add(b)
	}
	for _, s := range append(jsonEdges, `{"type":"response.completed","response":{"usage":{"output_tokens":1e2,"output_tokens_details":{"reasoning_tokens":-1}}}}`,
		`{"type":"response.failed","response":{"error":null}}`, `{"type":"resp\u006fnse.output_text.delta","delta":"\ud800"}`) {
		f.Add([]byte(s))
	}
	var d decoder
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := d.decodeResponses(data)
		ref, valid := refResponses(data)
		if (err == nil) != valid {
			t.Fatalf("decode error %v, but json.Valid = %v", err, valid)
		}
		if err == nil {
			compareDecoded(t, c, ref)
		}
	})
}

func FuzzUIChunk(f *testing.F) {
	for _, b := range seedLines(f, "aisdk_ui*.sse") {
		f.Add(b)
	}
	for _, s := range append(jsonEdges, `{"type":"data-x"}`, `{"type":"error"}`, `{"type":"abort"}`, `{"type":"tool-input-delta","inputTextDelta":5}`) {
		f.Add([]byte(s))
	}
	var d decoder
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := d.decodeUI(data)
		ref, valid := refUI(data)
		if (err == nil) != valid {
			t.Fatalf("decode error %v, but json.Valid = %v", err, valid)
		}
		if err == nil {
			compareDecoded(t, c, ref)
		}
	})
}

func FuzzDataStreamLine(f *testing.F) {
	for _, b := range seedLines(f, "aisdk_data*.txt") {
		code, value, _ := bytes.Cut(b, []byte{':'})
		f.Add(string(code), value)
	}
	for _, s := range jsonEdges {
		f.Add("0", []byte(s))
	}
	f.Add("9", []byte(`{"args": [1, 2]}`))
	f.Add("z", []byte(`"x"`))
	var d decoder
	f.Fuzz(func(t *testing.T, code string, data []byte) {
		c, err := d.decodeDataLine(code, data)
		ref, valid := refDataLine(code, data)
		if (err == nil) != valid {
			t.Fatalf("decode error %v, but json.Valid = %v", err, valid)
		}
		if err == nil {
			compareDecoded(t, c, ref)
		}
	})
}

func FuzzGeminiChunk(f *testing.F) {
	for _, b := range seedLines(f, "gemini*.sse") {
		f.Add(b)
	}
	for _, s := range append(jsonEdges, `{"promptFeedback":{"blockReason":"SAFETY"}}`, `{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":{"a":1}}},{"text":"x","thought":false}]}}]}`,
		`{"usageMetadata":{"thoughtsTokenCount":3}}`, `{"candidates":[]}`) {
		f.Add([]byte(s))
	}
	var d decoder
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := d.decodeGemini(data)
		ref, valid := refGemini(data)
		if (err == nil) != valid {
			t.Fatalf("decode error %v, but json.Valid = %v", err, valid)
		}
		if err == nil {
			compareDecoded(t, c, ref)
		}
	})
}

func FuzzOllamaChunk(f *testing.F) {
	for _, b := range seedLines(f, "ollama*.ndjson") {
		f.Add(b)
	}
	for _, s := range append(jsonEdges, `{"done":true,"model":"m","eval_duration":1.5e9,"total_duration":99999999999999999999}`, `{"error":""}`, `{"done":"true","model":"m"}`,
		`{"done":false,"message":{"tool_calls":[{"function":{"name":"f"}}]}}`) {
		f.Add([]byte(s))
	}
	var d decoder
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := d.decodeOllama(data)
		ref, st, valid := refOllama(data)
		if (err == nil) != valid {
			t.Fatalf("decode error %v, but json.Valid = %v", err, valid)
		}
		if err == nil {
			compareDecoded(t, c, ref)
			if c.server != st {
				t.Fatalf("server timings %+v, reference %+v", c.server, st)
			}
		}
	})
}

// FuzzLineReader checks the line framing of NDJSON and the data stream
// against a reference that splits the whole input at once: the same
// frames, whatever the read sizes; no panic; a line over the cap is a
// LimitError.
func FuzzLineReader(f *testing.F) {
	for _, name := range []string{"ollama_chat.ndjson", "aisdk_data.txt"} {
		b, err := os.ReadFile(filepath.Join("testdata", "streams", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(1), true)
		f.Add(b, uint8(7), false)
	}
	f.Add([]byte("a\r\n\r\n\nb:c\rd\nlast"), uint8(2), true)
	f.Add([]byte("0:\"x\"\n"), uint8(0), true)
	f.Fuzz(func(t *testing.T, data []byte, step uint8, codes bool) {
		const max = 64
		type frame struct{ typ, data string }
		var want []frame
		tooLong := false
		lines := strings.Split(string(data), "\n")
		for i, line := range lines {
			if i < len(lines)-1 && len(line) > max || i == len(lines)-1 && len(line) > max {
				tooLong = true
				break
			}
			line = strings.TrimSuffix(line, "\r")
			if strings.TrimSpace(line) == "" {
				continue
			}
			fr := frame{data: line}
			if codes {
				if c, v, ok := strings.Cut(line, ":"); ok && len(c) > 0 && len(c) <= 2 {
					fr = frame{c, v}
				}
			}
			want = append(want, fr)
		}
		r := newLineReader(&stepReader{b: data, step: int(step%16) + 1}, sse.ParserOptions{MaxLine: max, ReadSize: 16}, codes)
		var got []frame
		var err error
		for {
			var ev sse.Event
			ev, err = r.Next()
			if err != nil {
				break
			}
			got = append(got, frame{ev.Type, string(ev.Data)})
		}
		var limit *sse.LimitError
		if tooLong {
			if !errors.As(err, &limit) {
				t.Fatalf("a line over %d bytes: error %v, want a LimitError", max, err)
			}
			if len(got) > len(want) || !slices.Equal(got, want[:len(got)]) {
				t.Fatalf("before the long line: %q, want a prefix of %q", got, want)
			}
			return
		}
		if err != io.EOF {
			t.Fatalf("error %v, want io.EOF", err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("frames %q\nwant %q", got, want)
		}
	})
}

// stepReader returns at most step bytes per Read.
type stepReader struct {
	b    []byte
	step int
}

func (s *stepReader) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), s.step)], s.b)
	s.b = s.b[n:]
	return n, nil
}
