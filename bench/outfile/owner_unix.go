//go:build unix

package outfile

import (
	"io/fs"
	"os"
	"syscall"
)

// writable asks the kernel whether this process may write path (access(2)
// with W_OK): a read-only file is not replaced behind its owner's back.
func writable(path string) bool {
	return syscall.Access(path, 0x2 /* W_OK */) == nil
}

// keepOwner gives the new file the old one's owner and group when the
// process may (as root, or when they are already its own); failing that,
// the file keeps the process's owner, as any new file would.
func keepOwner(f *os.File, old fs.FileInfo) {
	st, ok := old.Sys().(*syscall.Stat_t)
	if !ok {
		return
	}
	_ = f.Chown(int(st.Uid), int(st.Gid))
}
