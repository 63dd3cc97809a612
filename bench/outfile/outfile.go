package outfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrIsDir is returned (wrapped) for a path that is a directory, or a
// symbolic link to one.
var ErrIsDir = errors.New("is a directory")

// maxLinks bounds how many symbolic links a path may go through, as the
// kernel's own limit (ELOOP) does.
const maxLinks = 40

// newFileMode is the mode of a file that did not exist before.
const newFileMode fs.FileMode = 0o644

// WriteBytes writes b to path under the package's rules.
func WriteBytes(path string, b []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// Write writes what fill produces to path under the package's rules. When
// fill or the write fails, a regular file at path is left as it was.
func Write(path string, fill func(io.Writer) error) error {
	t, err := resolve(path)
	if err != nil {
		return err
	}
	switch {
	case t.info == nil || t.info.Mode().IsRegular():
		return replace(t, fill)
	case t.info.IsDir():
		return t.isDir()
	case t.info.Mode()&fs.ModeSocket != 0:
		return t.isSocket()
	}
	return writeThrough(t, fill)
}

// Check reports whether Write(path, …) can succeed, without writing
// anything at path: the path is not a directory or a socket; an existing
// file or device is writable; a new or regular file's directory exists and
// accepts a new file (a temporary file is created in it and removed).
func Check(path string) error {
	if path == "" {
		return errors.New("empty file name")
	}
	t, err := resolve(path)
	if err != nil {
		return err
	}
	switch {
	case t.info == nil:
	case t.info.IsDir():
		return t.isDir()
	case t.info.Mode()&fs.ModeSocket != 0:
		return t.isSocket()
	case !writable(t.path):
		return fmt.Errorf("%s is not writable", t.describe())
	case !t.info.Mode().IsRegular():
		return nil // written through; its directory does not matter
	}
	dir := dirOf(t.path)
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("directory %s does not exist; create it first or save elsewhere", dir)
	case err != nil:
		return fmt.Errorf("directory %s: %v", dir, unwrapPath(err))
	case !st.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	}
	probe, err := os.CreateTemp(dir, ".rtbench-check-*")
	if err != nil {
		return fmt.Errorf("directory %s is not writable: %v", dir, unwrapPath(err))
	}
	name := probe.Name()
	probe.Close()
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("directory %s: cannot remove a temporary file: %v", dir, unwrapPath(err))
	}
	return nil
}

// target is where a path leads once its symbolic links are followed.
type target struct {
	asked string      // the path as given
	path  string      // the final path, a non-link or a missing name
	info  fs.FileInfo // nil when nothing is there
}

func (t target) isDir() error {
	if t.path != t.asked {
		return fmt.Errorf("%s (a link to %s) %w", t.asked, t.path, ErrIsDir)
	}
	return fmt.Errorf("%s %w", t.asked, ErrIsDir)
}

func (t target) isSocket() error {
	return fmt.Errorf("%s is a socket: rtbench writes only to files, devices and FIFOs", t.describe())
}

func (t target) describe() string {
	kind := "file"
	if t.info != nil {
		switch m := t.info.Mode(); {
		case m&fs.ModeNamedPipe != 0:
			kind = "FIFO"
		case m&fs.ModeCharDevice != 0:
			kind = "character device"
		case m&fs.ModeDevice != 0:
			kind = "block device"
		case m&fs.ModeSocket != 0:
			kind = "socket"
		}
	}
	if t.path != t.asked {
		return fmt.Sprintf("%s %s (the target of %s)", kind, t.path, t.asked)
	}
	return kind + " " + t.path
}

// resolve follows path's symbolic links, one hop at a time, to the path
// they end on. A relative link is read from the directory of the link, as
// the kernel reads it; the path is never cleaned, so `..` after a linked
// directory means what it means to the kernel.
func resolve(path string) (target, error) {
	t := target{asked: path, path: path}
	for range maxLinks {
		fi, err := os.Lstat(t.path)
		if err != nil {
			// Nothing there, or nothing that can be looked at (a parent that
			// is not a directory, one that cannot be searched): the checks
			// of the directory say which.
			return t, nil
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			t.info = fi
			return t, nil
		}
		link, err := os.Readlink(t.path)
		if err != nil {
			return t, fmt.Errorf("%s: %v", t.path, unwrapPath(err))
		}
		if !filepath.IsAbs(link) {
			link = dirPrefix(t.path) + link
		}
		t.path = link
	}
	return t, fmt.Errorf("%s: more than %d symbolic links", path, maxLinks)
}

// replace writes a regular (or new) file: a temporary file in the same
// directory, synced, given the old file's mode, renamed over the path.
func replace(t target, fill func(io.Writer) error) (err error) {
	if t.info != nil && !writable(t.path) {
		return fmt.Errorf("%s is not writable", t.describe())
	}
	dir := dirOf(t.path)
	f, err := os.CreateTemp(dir, "."+baseOf(t.path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("cannot create a file in %s: %v", dir, unwrapPath(err))
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 64<<10)
	if err = fill(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("writing %s: %v", t.path, unwrapPath(err))
	}
	mode := newFileMode
	if t.info != nil {
		mode = t.info.Mode().Perm()
		keepOwner(f, t.info)
	}
	if err = f.Chmod(mode); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("writing %s: %v", t.path, unwrapPath(err))
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("writing %s: %v", t.path, unwrapPath(err))
	}
	if err = os.Rename(tmp, t.path); err != nil {
		return fmt.Errorf("renaming into %s: %v", t.path, unwrapPath(err))
	}
	// Make the rename itself durable; not every platform can sync a
	// directory, and the file is complete either way.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// writeThrough writes into a device or FIFO as it is: opened for writing,
// never created, truncated, synced or replaced.
func writeThrough(t target, fill func(io.Writer) error) error {
	f, err := os.OpenFile(t.path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("%s: %v", t.describe(), unwrapPath(err))
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	if err := fill(bw); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("writing to %s: %v", t.describe(), unwrapPath(err))
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing to %s: %v", t.describe(), unwrapPath(err))
	}
	return nil
}

// unwrapPath drops the *PathError's operation and path (which may name a
// temporary file) and keeps the reason.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

func isSep(c byte) bool { return c == '/' || c == os.PathSeparator }

// dirPrefix is path's directory with its trailing separator ("" for a bare
// name), not cleaned: a link's target is read from there.
func dirPrefix(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if isSep(path[i]) {
			return path[:i+1]
		}
	}
	return ""
}

// dirOf is path's directory, not cleaned, for opening and for messages:
// "." for a bare name, "/" for a file at the root.
func dirOf(path string) string {
	d := dirPrefix(path)
	switch {
	case d == "":
		return "."
	case len(d) == 1:
		return d
	}
	return d[:len(d)-1]
}

func baseOf(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if isSep(path[i]) {
			return path[i+1:]
		}
	}
	return path
}
