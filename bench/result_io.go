package bench

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteFile saves r as indented JSON. It writes a temporary file in the same
// directory, syncs it and renames it over path, so path never holds a
// half-written result, even if rtbench is killed while saving.
func WriteFile(path string, r *Result) (err error) {
	if r == nil || r.Schema != SchemaV2 {
		return fmt.Errorf("write result %s: not a %s result", path, SchemaV2)
	}
	b, err := Marshal(r)
	if err != nil {
		return fmt.Errorf("write result %s: %w", path, err)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("write result %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
			err = fmt.Errorf("write result %s: %w", path, err)
		}
	}()
	if _, err = f.Write(b); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	// Make the rename itself durable; not every platform can sync a
	// directory, and the file is complete either way.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
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
