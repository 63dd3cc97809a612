package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Marshal is a result's one JSON document: what WriteFile saves and what
// `rtbench load --json` and `rtbench report --json` print, so each can be
// read back by Decode. Indented as json.MarshalIndent does (HTML
// characters escaped, as every saved result so far), ending with a newline.
func Marshal(r *Result) ([]byte, error) {
	if r == nil || r.Schema != SchemaV2 {
		return nil, fmt.Errorf("not a %s result", SchemaV2)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
