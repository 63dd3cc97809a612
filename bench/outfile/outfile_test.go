package outfile

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var payload = []byte("{\"schema\":\"rtbench.load/v1\"}\n")

// entries lists dir's names, to show that no temporary file is left.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestWriteFiles: regular files, missing files and symbolic links to them
// get the bytes through a rename; an existing file keeps its mode; links
// stay links; no temporary file is left behind.
func TestWriteFiles(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string) (path, target string)
		mode  fs.FileMode // of the target after the write
	}{
		{"new file", func(t *testing.T, dir string) (string, string) {
			p := filepath.Join(dir, "result.json")
			return p, p
		}, 0o644},
		{"existing file keeps its mode", func(t *testing.T, dir string) (string, string) {
			p := filepath.Join(dir, "result.json")
			if err := os.WriteFile(p, []byte("old"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, 0o640); err != nil {
				t.Fatal(err)
			}
			return p, p
		}, 0o640},
		{"bare name in the working directory", func(t *testing.T, dir string) (string, string) {
			t.Chdir(dir)
			return "result.json", filepath.Join(dir, "result.json")
		}, 0o644},
		{"absolute symlink to a file", func(t *testing.T, dir string) (string, string) {
			target := filepath.Join(dir, "real.json")
			if err := os.WriteFile(target, []byte("old"), 0o600); err != nil {
				t.Fatal(err)
			}
			link := filepath.Join(dir, "link.json")
			if err := os.Symlink(target, link); err != nil {
				t.Fatal(err)
			}
			return link, target
		}, 0o600},
		{"two relative hops through a linked directory", func(t *testing.T, dir string) (string, string) {
			if err := os.MkdirAll(filepath.Join(dir, "real", "sub"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("real/sub", filepath.Join(dir, "alias")); err != nil {
				t.Fatal(err)
			}
			// ../ is read from real/sub, where the link lives, not from dir.
			if err := os.Symlink("../target.json", filepath.Join(dir, "real", "sub", "hop")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("alias/hop", filepath.Join(dir, "first")); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(dir, "first"), filepath.Join(dir, "real", "target.json")
		}, 0o644},
		{"dangling symlink creates its target", func(t *testing.T, dir string) (string, string) {
			link := filepath.Join(dir, "link.json")
			if err := os.Symlink("made.json", link); err != nil {
				t.Fatal(err)
			}
			return link, filepath.Join(dir, "made.json")
		}, 0o644},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path, target := tt.setup(t, dir)
			before := entries(t, dir)
			lst, err := os.Lstat(path)
			linked := err == nil && lst.Mode()&fs.ModeSymlink != 0
			if err := Check(path); err != nil {
				t.Fatalf("Check: %v", err)
			}
			if err := WriteBytes(path, payload); err != nil {
				t.Fatalf("WriteBytes: %v", err)
			}
			if got := mustRead(t, target); !bytes.Equal(got, payload) {
				t.Errorf("target holds %q, want %q", got, payload)
			}
			st, err := os.Stat(target)
			if err != nil {
				t.Fatal(err)
			}
			if !st.Mode().IsRegular() || st.Mode().Perm() != tt.mode {
				t.Errorf("target mode %v, want a regular file %v", st.Mode(), tt.mode)
			}
			if linked {
				lst, err := os.Lstat(path)
				if err != nil || lst.Mode()&fs.ModeSymlink == 0 {
					t.Errorf("%s is no longer a symbolic link (%v, %v)", path, lst.Mode(), err)
				}
			}
			after := entries(t, dir)
			for _, n := range after {
				if strings.Contains(n, ".tmp-") || strings.HasPrefix(n, ".rtbench-") {
					t.Errorf("left behind: %s (dir holds %v, held %v)", n, after, before)
				}
			}
		})
	}
}

// TestWriteFailureKeepsTheOldFile: when producing the bytes fails, the file
// at the path is untouched and no temporary file is left.
func TestWriteFailureKeepsTheOldFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "result.json")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(p, func(w io.Writer) error {
		w.Write([]byte("half a result"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Write: %v, want the fill error", err)
	}
	if got := mustRead(t, p); string(got) != "old" {
		t.Errorf("the file holds %q, want it untouched", got)
	}
	if es := entries(t, dir); len(es) != 1 {
		t.Errorf("dir holds %v, want only result.json", es)
	}
}

// TestWriteFIFO: a FIFO gets the bytes through, read on the other side, and
// is still a FIFO afterwards.
func TestWriteFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe")
	if err := mkfifo(fifo); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink("pipe", link); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{fifo, link} {
		got := make(chan []byte, 1)
		go func() {
			f, err := os.Open(fifo) // blocks until the writer opens it
			if err != nil {
				got <- []byte(err.Error())
				return
			}
			b, _ := io.ReadAll(f)
			// Closed before the bytes are handed over: a reader still
			// open when the next case's writer opens the FIFO would take
			// its bytes, and the next reader would wait for a writer
			// forever (seen once in CI).
			f.Close()
			got <- b
		}()
		if err := Check(path); err != nil {
			t.Fatalf("Check(%s): %v", path, err)
		}
		if err := WriteBytes(path, payload); err != nil {
			t.Fatalf("WriteBytes(%s): %v", path, err)
		}
		if b := <-got; !bytes.Equal(b, payload) {
			t.Errorf("the reader got %q, want %q", b, payload)
		}
		st, err := os.Lstat(fifo)
		if err != nil || st.Mode()&fs.ModeNamedPipe == 0 {
			t.Errorf("%s is no longer a FIFO: %v %v", fifo, st.Mode(), err)
		}
	}
	if es := entries(t, dir); len(es) != 2 {
		t.Errorf("dir holds %v, want only the FIFO and the link", es)
	}
}

// TestWriteRefuses: directories (also through a link), sockets and link
// loops are errors that name the path, from Check and from Write alike, and
// nothing is created.
func TestWriteRefuses(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub", filepath.Join(dir, "to-sub")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("loop-b", filepath.Join(dir, "loop-a")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("loop-a", filepath.Join(dir, "loop-b")); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// A socket path must be short: bind in the directory by a relative name.
	t.Chdir(dir)
	ln, err := net.Listen("unix", "sock")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	tests := []struct {
		path, want string
		isDir      bool
	}{
		{sub, sub + " is a directory", true},
		{filepath.Join(dir, "to-sub"), "(a link to " + dir + "/sub) is a directory", true},
		{"sock", "socket sock is a socket", false},
		{filepath.Join(dir, "loop-a"), "more than 40 symbolic links", false},
		{filepath.Join(dir, "missing", "x.json"), "", false}, // Write's error differs from Check's
		{filepath.Join(file, "x.json"), "", false},
	}
	for _, tt := range tests {
		for name, f := range map[string]func(string) error{
			"Check": Check,
			"Write": func(p string) error { return WriteBytes(p, payload) },
		} {
			err := f(tt.path)
			if err == nil {
				t.Errorf("%s(%s) = nil, want an error", name, tt.path)
				continue
			}
			if tt.want != "" && !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s(%s) = %q, want it to say %q", name, tt.path, err, tt.want)
			}
			if errors.Is(err, ErrIsDir) != tt.isDir {
				t.Errorf("%s(%s) = %v: errors.Is(ErrIsDir) should be %v", name, tt.path, err, tt.isDir)
			}
		}
	}
	if es := entries(t, dir); len(es) != 6 {
		t.Errorf("dir holds %v, want nothing new", es)
	}
	if st, _ := os.Stat(sub); !st.IsDir() {
		t.Error("the directory was replaced")
	}
}

// TestCheckMessages: Check's one-line reasons for paths that cannot be
// written, which the commands print after the flag.
func TestCheckMessages(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ path, want string }{
		{filepath.Join(dir, "nope", "x.json"), "directory " + dir + "/nope does not exist; create it first or save elsewhere"},
		{filepath.Join(file, "x.json"), file + " is not a directory"},
		{"", "empty file name"},
	}
	for _, tt := range tests {
		if err := Check(tt.path); err == nil || err.Error() != tt.want {
			t.Errorf("Check(%q) = %v, want %q", tt.path, err, tt.want)
		}
	}
}
