//go:build !unix

package outfile

import (
	"io/fs"
	"os"
)

// writable is approximated by the permission bits where access(2) does not
// exist.
func writable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().Perm()&0o200 != 0
}

// keepOwner has nothing to keep where files have no Unix owner.
func keepOwner(*os.File, fs.FileInfo) {}
