package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/rtbench/rtbench/bench/outfile"
)

// WriteFile saves r as indented JSON (Marshal) through bench/outfile: a
// regular file is replaced atomically (path never holds half a result, even
// if rtbench is killed while saving), a device, FIFO or link target is
// written through.
func WriteFile(path string, r *Result) error {
	if r == nil || r.Schema != SchemaV2 {
		return fmt.Errorf("write result %s: not a %s result", path, SchemaV2)
	}
	b, err := Marshal(r)
	if err != nil {
		return fmt.Errorf("write result %s: %w", path, err)
	}
	if err := outfile.WriteBytes(path, b); err != nil {
		return fmt.Errorf("write result %s: %w", path, err)
	}
	return nil
}

// ReadFile reads a result saved by WriteFile, or a log that holds one: the
// output of an agent run with --out - whose stdout and stderr were
// collected together (kubectl logs), where the result is the one JSON
// object that starts on a line of its own with its schema field.
func ReadFile(path string) (*Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read result: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxResultBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read result %s: %w", path, err)
	}
	r, err := Decode(bytes.NewReader(b))
	if err != nil {
		if doc, ok := resultInLog(b); ok {
			if r, lerr := Decode(bytes.NewReader(doc)); lerr == nil {
				return r, nil
			}
		}
		return nil, fmt.Errorf("read result %s: %w", path, err)
	}
	return r, nil
}

// logMark is how an indented result starts within a log.
var logMark = []byte("{\n  \"schema\": \"rtbench.result/")

// resultInLog finds the one result in a log: the JSON object starting at
// the line "{" followed by its schema field. ok is false when there is none
// or more than one (a log of several results is not one agent's).
func resultInLog(b []byte) ([]byte, bool) {
	i := bytes.Index(b, logMark)
	if i < 0 || (i > 0 && b[i-1] != '\n') || bytes.Count(b, logMark) != 1 {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(b[i:]))
	var raw json.RawMessage
	if dec.Decode(&raw) != nil {
		return nil, false
	}
	return raw, true
}
