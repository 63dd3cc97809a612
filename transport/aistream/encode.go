package aistream

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"os"
	"reflect"
	"strconv"
	"unicode/utf8"
)

// requestError is a request the mock refuses: the status, the field or
// override at fault (OpenAI's "param"), and a message that says what was
// wrong and what to send instead. Each API renders it in its own error shape.
type requestError struct {
	status int
	param  string
	msg    string
}

func badRequest(param, format string, args ...any) *requestError {
	return &requestError{status: http.StatusBadRequest, param: param, msg: fmt.Sprintf(format, args...)}
}

// readJSON reads the body, at most MaxBody bytes, into v. example is a body
// that would have been accepted, quoted in the error.
func readJSON(w http.ResponseWriter, r *http.Request, v any, example string) *requestError {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		if errors.As(err, new(*http.MaxBytesError)) {
			return &requestError{status: http.StatusRequestEntityTooLarge,
				msg: fmt.Sprintf("the request body is over the limit of %d bytes; send a smaller body", MaxBody)}
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return &requestError{status: http.StatusRequestTimeout,
				msg: "the request body did not arrive in time; send it at once, not a byte at a time"}
		}
		return badRequest("", "reading the request body failed: %v", err)
	}
	err = json.Unmarshal(body, v)
	if err == nil {
		return nil
	}
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		if te.Field == "" {
			return badRequest("", "the request body must be a JSON object, not %s; send %s", te.Value, example)
		}
		return badRequest(te.Field, "%s must be %s, not %s; send %s", te.Field, jsonKind(te.Type), te.Value, example)
	}
	return badRequest("", "the request body is not valid JSON (%v); send %s", err, example)
}

// jsonKind names the JSON value a Go type decodes from.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Uint64:
		return "an integer"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "an array"
	}
	return "an object"
}

// message is one chat message, as OpenAI, Anthropic and the Vercel AI SDK
// send it: content is a string or an array of parts ({"type":"text","text":…}).
type message struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// contentWords counts the words of a content value: a string, an array of
// parts (the "text" of each counts) or null. field names it in the error.
func contentWords(raw json.RawMessage, field string) (int, *requestError) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return countWords(s), nil
	}
	var parts []struct {
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) != nil {
		return 0, badRequest(field, `%s must be a string or an array of parts like {"type":"text","text":"Hello"}`, field)
	}
	n := 0
	for _, p := range parts {
		n += countWords(p.Text)
	}
	return n, nil
}

// promptWords is the prompt-token count of messages: their words.
func promptWords(msgs []message) (int, *requestError) {
	n := 0
	for i, m := range msgs {
		k, err := contentWords(m.Content, "messages["+strconv.Itoa(i)+"].content")
		if err != nil {
			return 0, err
		}
		n += k
	}
	return n, nil
}

// checkModel returns the model to report: the request's, or def.
func checkModel(model, def string) (string, *requestError) {
	if len(model) > MaxModelLength {
		return "", badRequest("model", "model is %d bytes, over the limit of %d; send a shorter name, e.g. %q", len(model), MaxModelLength, DefaultModel)
	}
	if model == "" {
		return def, nil
	}
	return model, nil
}

// appendJSONString appends s as a JSON string. Unlike encoding/json it leaves
// <, > and & alone (as OpenAI's and Anthropic's servers do); it escapes
// quotes, backslashes, control characters, U+2028 and U+2029, and turns
// invalid UTF-8 into U+FFFD. It does not allocate when dst has room.
func appendJSONString[S []byte | string](dst []byte, s S) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		var b [utf8.UTFMax]byte
		r, size := utf8.DecodeRune(b[:copy(b[:], s[i:min(i+utf8.UTFMax, len(s))])])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendID appends prefix and n base-62 characters derived from x: response
// and message IDs that look like the real ones, unique per server and
// request start, and fixed under a fake clock.
func appendID(dst []byte, prefix string, x uint64, n int) []byte {
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	dst = append(dst, prefix...)
	for i := range n {
		if i%10 == 0 {
			x = splitmix(x, uint64(i))
		}
		dst = append(dst, digits[x%62])
		x /= 62
	}
	return dst
}

// fingerprint is the system_fingerprint reported for a model: "fp_" and ten
// hex digits, fixed for a model name.
func fingerprint(model string) string {
	h := fnv.New64a()
	h.Write([]byte(model))
	return "fp_" + strconv.FormatUint(h.Sum64()|1<<60, 16)[:10]
}
