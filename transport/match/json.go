package match

import "encoding/json"

// The document is checked with json.Valid once per Match, so the helpers
// below may assume well-formed JSON: they only find boundaries.

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string whose quote is at b[i].
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(b)
}

// skipValue returns the index after the value that starts at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = skipString(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	}
	j := i
	for j < len(b) {
		switch b[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return j
		}
		j++
	}
	return j
}

// lookup returns the raw value at path in the well-formed document doc. A
// key that appears twice in an object gives its last value, as
// encoding/json does.
func lookup(doc []byte, path []seg) ([]byte, bool) {
	i := skipSpace(doc, 0)
	val := doc[i:skipValue(doc, i)]
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
	i := skipSpace(obj, 1)
	for i < len(obj) && obj[i] == '"' {
		kend := skipString(obj, i)
		match := keyEqual(obj[i:kend], key)
		i = skipSpace(obj, kend) + 1 // the colon
		i = skipSpace(obj, i)
		vend := skipValue(obj, i)
		if match {
			found, ok = obj[i:vend], true
		}
		i = skipSpace(obj, vend)
		if i < len(obj) && obj[i] == ',' {
			i = skipSpace(obj, i+1)
		}
	}
	return found, ok
}

// element returns the n-th element of the array arr.
func element(arr []byte, n int) ([]byte, bool) {
	if len(arr) == 0 || arr[0] != '[' {
		return nil, false
	}
	i := skipSpace(arr, 1)
	for k := 0; i < len(arr) && arr[i] != ']'; k++ {
		end := skipValue(arr, i)
		if k == n {
			return arr[i:end], true
		}
		i = skipSpace(arr, end)
		if i < len(arr) && arr[i] == ',' {
			i = skipSpace(arr, i+1)
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
