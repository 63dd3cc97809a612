package cmd

import (
	"errors"

	"github.com/rtbench/rtbench/bench/outfile"
)

// checkOutFile checks, before any work is done, that path (the value of
// flag) can be written (bench/outfile.Check): a bad path is a usage error
// that names the flag, in a second rather than after the run. example is a
// file name to suggest when path is a directory.
func checkOutFile(flag, path, example string) error {
	if path == "" {
		return nil
	}
	err := outfile.Check(path)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, outfile.ErrIsDir):
		return UsageError("%s %v; give a file name such as %s", flag, err, example)
	}
	return UsageError("%s %s: %v", flag, path, err)
}
