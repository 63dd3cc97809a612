//go:build unix

package outfile

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func mkfifo(path string) error { return syscall.Mkfifo(path, 0o600) }

// childEnv makes the test binary run Check on its argument and print the
// result (TestMain): the read-only test runs it as another user.
const childEnv = "RTBENCH_OUTFILE_CHECK"

func TestMain(m *testing.M) {
	if path := os.Getenv(childEnv); path != "" {
		if err := Check(path); err != nil {
			fmt.Println(err)
		} else {
			fmt.Println("ok")
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestCheckReadOnlyDirectory: a directory the user cannot write fails Check
// with "directory D is not writable". Root writes anywhere, so as root the
// check runs in a child process as the user nobody.
func TestCheckReadOnlyDirectory(t *testing.T) {
	base := t.TempDir()
	ro := filepath.Join(base, "ro")
	if err := os.Mkdir(ro, 0o555); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(ro, "x.json")
	want := "directory " + ro + " is not writable"
	if os.Geteuid() != 0 {
		if err := Check(path); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Fatalf("Check = %v, want %q", err, want)
		}
		return
	}
	// The user nobody must reach ro and run a copy of this binary.
	for d := base; d != filepath.Dir(d); d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm()&0o005 != 0o005 {
			// Only the test's own directories (base and t.TempDir's
			// parent) are opened up.
			if d != base && d != filepath.Dir(base) {
				t.Skipf("%s is not open to other users", d)
			}
			if err := os.Chmod(d, st.Mode().Perm()|0o005); err != nil {
				t.Fatal(err)
			}
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(base, "outfile.test")
	copyFile(t, self, bin)
	run := func(p string) string {
		c := exec.Command(bin, "-test.run=^$")
		c.Env = append(os.Environ(), childEnv+"="+p)
		c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := c.CombinedOutput()
		if err != nil {
			t.Skipf("cannot run a child as nobody: %v %s", err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if got := run(filepath.Join(base, "x.json")); got != "directory "+base+" is not writable: permission denied" {
		// base is root's: nobody cannot write it either.
		t.Errorf("Check(base/x.json) as nobody = %q", got)
	}
	if got := run(path); !strings.HasPrefix(got, want) {
		t.Errorf("Check as nobody = %q, want %q", got, want)
	}
	if es, _ := os.ReadDir(ro); len(es) != 0 {
		t.Errorf("Check left %v in %s", es, ro)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestWriteKeepsOwner: as root, a replaced file keeps its owner and group.
func TestWriteKeepsOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root can give a file to another user")
	}
	p := filepath.Join(t.TempDir(), "result.json")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(p, 65534, 65534); err != nil {
		t.Skipf("chown: %v", err)
	}
	if err := WriteBytes(p, payload); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(p)
	s := st.Sys().(*syscall.Stat_t)
	if s.Uid != 65534 || s.Gid != 65534 {
		t.Errorf("owner %d:%d, want 65534:65534", s.Uid, s.Gid)
	}
}

// TestWriteReadOnlyFile: an existing file its owner made read-only is not
// replaced (as root, access(2) allows it, as a shell redirection would).
func TestWriteReadOnlyFile(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root may write any file")
	}
	p := filepath.Join(t.TempDir(), "result.json")
	if err := os.WriteFile(p, []byte("old"), 0o444); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{Check(p), WriteBytes(p, payload)} {
		if err == nil || !strings.Contains(err.Error(), "is not writable") {
			t.Errorf("err = %v, want not writable", err)
		}
	}
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Errorf("file holds %q", b)
	}
}

// TestWriteDevice: a character device (the null device, 1,3, made in the
// test's own directory) is written through and stays the same device, also
// through a link.
func TestWriteDevice(t *testing.T) {
	dir := t.TempDir()
	dev := filepath.Join(dir, "null-device")
	if err := syscall.Mknod(dev, syscall.S_IFCHR|0o666, nullDev); err != nil {
		t.Skipf("mknod: %v", err)
	}
	before, _ := os.Lstat(dev)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(dev, link); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dev, link} {
		if err := Check(p); err != nil {
			t.Fatalf("Check(%s): %v", p, err)
		}
		if err := WriteBytes(p, bytes.Repeat(payload, 1000)); err != nil {
			t.Fatalf("WriteBytes(%s): %v", p, err)
		}
		st, err := os.Lstat(dev)
		if err != nil || st.Mode()&fs.ModeCharDevice == 0 || st.Sys().(*syscall.Stat_t).Rdev != before.Sys().(*syscall.Stat_t).Rdev {
			t.Fatalf("%s is no longer the device: %v %v", dev, st.Mode(), err)
		}
	}
	if es, _ := os.ReadDir(dir); len(es) != 2 {
		t.Errorf("dir holds %v, want only the device and the link", es)
	}
}
