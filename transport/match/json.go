package match

import (
	"encoding/json"

	"github.com/rtbench/rtbench/transport/internal/jsonskip"
)

// The document is checked with json.Valid once per Match, so the helpers
// below may assume well-formed JSON and only find boundaries (jsonskip).

// lookup returns the raw value at path in the well-formed document doc. A
// key that appears twice in an object gives its last value, as
// encoding/json does.
func lookup(doc []byte, path []seg) ([]byte, bool) {
	i := jsonskip.Space(doc, 0)
	val := doc[i:jsonskip.Value(doc, i)]
	for _, s := range path {
		var ok bool
		if s.isIndex {
			val, ok = element(val, s.index)
		} else {
			val, ok = member(val, s.key)
		}
		if !ok {
			return nil, false
		}
	}
	return val, true
}

// member returns the value of key in the object obj.
func member(obj []byte, key string) (found []byte, ok bool) {
	if len(obj) == 0 || obj[0] != '{' {
		return nil, false
	}
	i := jsonskip.Space(obj, 1)
	for i < len(obj) && obj[i] == '"' {
		kend := jsonskip.String(obj, i)
		match := keyEqual(obj[i:kend], key)
		i = jsonskip.Space(obj, kend) + 1 // the colon
		i = jsonskip.Space(obj, i)
		vend := jsonskip.Value(obj, i)
		if match {
			found, ok = obj[i:vend], true
		}
		i = jsonskip.Space(obj, vend)
		if i < len(obj) && obj[i] == ',' {
			i = jsonskip.Space(obj, i+1)
		}
	}
	return found, ok
}

// element returns the n-th element of the array arr.
func element(arr []byte, n int) ([]byte, bool) {
	if len(arr) == 0 || arr[0] != '[' {
		return nil, false
	}
	i := jsonskip.Space(arr, 1)
	for k := 0; i < len(arr) && arr[i] != ']'; k++ {
		end := jsonskip.Value(arr, i)
		if k == n {
			return arr[i:end], true
		}
		i = jsonskip.Space(arr, end)
		if i < len(arr) && arr[i] == ',' {
			i = jsonskip.Space(arr, i+1)
		}
	}
	return nil, false
}

// keyEqual compares the quoted JSON string raw with key.
func keyEqual(raw []byte, key string) bool {
	t, ok := text(raw)
	return ok && string(t) == key
}

// text decodes the quoted JSON string raw; it allocates only when raw holds
// escapes.
func text(raw []byte) ([]byte, bool) {
	body := raw[1 : len(raw)-1]
	for _, c := range body {
		if c == '\\' {
			var s string
			if json.Unmarshal(raw, &s) != nil {
				return nil, false
			}
			return []byte(s), true
		}
	}
	return body, true
}
