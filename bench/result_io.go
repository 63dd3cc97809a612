package bench

import (
	"fmt"
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

// ReadFile reads a result saved by WriteFile.
func ReadFile(path string) (*Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read result: %w", err)
	}
	defer f.Close()
	r, err := Decode(f)
	if err != nil {
		return nil, fmt.Errorf("read result %s: %w", path, err)
	}
	return r, nil
}
