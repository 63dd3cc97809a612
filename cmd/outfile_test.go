//go:build linux

package cmd

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/mock"
	"github.com/rtbench/rtbench/transport/mock/mocktest"
)

// runBounded runs rtbench with args in a test Env (runCmd), bounded in
// time.
func runBounded(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	code, stdout, stderr = runCmd(t, ctx, args...)
	if ctx.Err() != nil {
		t.Fatalf("rtbench %q did not finish within 60s", args)
	}
	return code, stdout, stderr
}

// readFIFO opens path for reading (which lets a writer's open return) and
// delivers everything written before the writer closed it.
func readFIFO(t *testing.T, path string) <-chan []byte {
	t.Helper()
	got := make(chan []byte, 1)
	go func() {
		f, err := os.Open(path)
		if err != nil {
			got <- nil
			return
		}
		b, _ := io.ReadAll(f)
		f.Close() // before handing over: a next writer must not meet this reader
		got <- b
	}()
	return got
}

// TestOutputPathsThroughCommands: every file rtbench writes (load --out,
// report --out/--html, check --junit, compare --html) goes through
// bench/outfile: a character device (1,3, made in the test's directory)
// stays a device, a link stays a link and its target gets the document, a
// FIFO gets the bytes on its other side.
func TestOutputPathsThroughCommands(t *testing.T) {
	_, base := mocktest.Start(t, mock.Config{})
	dir := t.TempDir()
	dev := filepath.Join(dir, "null-device")
	if err := syscall.Mknod(dev, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Skipf("mknod: %v", err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "real"), 0o755); err != nil {
		t.Fatal(err)
	}
	link := func(name, to string) string {
		p := filepath.Join(dir, name)
		if err := os.Symlink(to, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	isDev := func() {
		t.Helper()
		st, err := os.Lstat(dev)
		if err != nil || st.Mode()&fs.ModeCharDevice == 0 || st.Sys().(*syscall.Stat_t).Rdev != 1<<8|3 {
			t.Fatalf("%s is no longer the device 1,3: %v %v", dev, st.Mode(), err)
		}
	}
	isLink := func(p string) {
		t.Helper()
		if st, err := os.Lstat(p); err != nil || st.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("%s is no longer a symbolic link", p)
		}
	}
	ok := func(code int, stdout, stderr string) {
		t.Helper()
		if code != 0 {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
	}
	load := []string{"load", "-c", "2", "-d", "1s", base + "/sse?rate=10"}

	// load --out: the device, a link to a file that does not exist yet, a FIFO.
	ok(runBounded(t, append(load, "--out", dev)...))
	isDev()
	resultLink := link("result.json", "real/result.json")
	ok(runBounded(t, append(load, "--out", resultLink)...))
	isLink(resultLink)
	r := readResult(t, filepath.Join(dir, "real", "result.json"))
	got := readFIFO(t, fifo)
	ok(runBounded(t, append(load, "--out", fifo)...))
	var fromFIFO bench.Result
	if err := json.Unmarshal(<-got, &fromFIFO); err != nil || fromFIFO.Schema != bench.SchemaV2 {
		t.Errorf("the FIFO's reader got no result: %v", err)
	}

	// report --out / --html into the device and through a link.
	htmlLink := link("report.html", filepath.Join(dir, "real", "report.html"))
	ok(runBounded(t, "report", filepath.Join(dir, "real", "result.json"), "--out", dev, "--html", htmlLink))
	isDev()
	isLink(htmlLink)
	if b, err := os.ReadFile(filepath.Join(dir, "real", "report.html")); err != nil || !strings.Contains(string(b), "<html") {
		t.Errorf("the link's target holds no page: %v", err)
	}
	if r.Schema != bench.SchemaV2 {
		t.Errorf("result schema %q", r.Schema)
	}

	// check --junit into a FIFO and the device.
	got = readFIFO(t, fifo)
	ok(runBounded(t, "check", base+"/sse?rate=20", "--junit", fifo))
	var suites struct {
		XMLName xml.Name `xml:"testsuites"`
	}
	if err := xml.Unmarshal(<-got, &suites); err != nil {
		t.Errorf("the FIFO's reader got no JUnit report: %v", err)
	}
	ok(runBounded(t, "check", base+"/sse?rate=20", "--junit", dev))
	isDev()

	// compare --html through a link into the device.
	compareLink := link("compare.html", "null-device")
	ok(runBounded(t, "compare", "-c", "5", "--updates", "5", "-d", "1s", "--patterns", "sse", "--html", compareLink))
	isDev()
	isLink(compareLink)

	if es, _ := os.ReadDir(dir); len(es) != 6 {
		var names []string
		for _, e := range es {
			names = append(names, e.Name())
		}
		t.Errorf("dir holds %v: a temporary file was left, or something replaced", names)
	}
}

// TestOutputPathsCheckedFirst: a path that cannot be written is a usage
// error (exit 2) naming the flag, before any session reaches the target.
func TestOutputPathsCheckedFirst(t *testing.T) {
	srv, base := mocktest.Start(t, mock.Config{})
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	result := filepath.Join(dir, "result.json")
	ok, _, stderr := runBounded(t, "load", "-c", "1", "-d", "1s", "--out", result, base+"/sse?rate=10")
	if ok != 0 {
		t.Fatalf("setup: exit %d: %s", ok, stderr)
	}
	before := srv.Stats().Snapshot().Events[transport.SSE]
	missing := filepath.Join(dir, "missing", "x")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"load", "-d", "30s", "--out", missing, base + "/sse"}, "--out " + missing + ": directory " + dir + "/missing does not exist"},
		{[]string{"load", "-d", "30s", "--out", file + "/x.json", base + "/sse"}, "--out " + file + "/x.json: " + file + " is not a directory"},
		{[]string{"check", "--junit", missing, base + "/sse"}, "--junit " + missing + ": directory"},
		{[]string{"check", "--junit", dir, base + "/sse"}, "--junit " + dir + " is a directory; give a file name such as check.xml"},
		{[]string{"compare", "-d", "30s", "--html", missing}, "--html " + missing + ": directory"},
		{[]string{"report", result, "--out", missing}, "--out " + missing + ": directory"},
		{[]string{"report", result, "--html", missing}, "--html " + missing + ": directory"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args[:3], " "), func(t *testing.T) {
			code, stdout, stderr := runBounded(t, tt.args...)
			if code != ExitUsage || stdout != "" {
				t.Errorf("exit %d, stdout %q; want 2 and nothing", code, stdout)
			}
			if !strings.HasPrefix(stderr, "rtbench: "+tt.want) || strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr %q, want one line starting %q", stderr, tt.want)
			}
		})
	}
	if after := srv.Stats().Snapshot().Events[transport.SSE]; after != before {
		t.Errorf("%d events were sent; the paths should be refused first", after-before)
	}
}

// TestGendocsKeepsLinks: gendocs writes its man pages and completion
// scripts through bench/outfile too (atomically now; os.Create and
// os.WriteFile, used before, truncated the page in place): a page that is
// a link still stays a link and its target gets the page.
func TestGendocsKeepsLinks(t *testing.T) {
	dir := t.TempDir()
	man, comp, elsewhere := filepath.Join(dir, "man"), filepath.Join(dir, "comp"), filepath.Join(dir, "elsewhere")
	for _, d := range []string{man, comp, elsewhere} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		filepath.Join(man, "rtbench-load.1"): filepath.Join(elsewhere, "load.1"),
		filepath.Join(comp, "rtbench.bash"):  filepath.Join(elsewhere, "rtbench.bash"),
	}
	for l, target := range links {
		if err := os.Symlink(target, l); err != nil {
			t.Fatal(err)
		}
	}
	code, _, stderr := runBounded(t, "gendocs", "--man", man, "--completions", comp, "--date", "1795600000")
	if code != 0 {
		t.Fatalf("gendocs: exit %d: %s", code, stderr)
	}
	for l, target := range links {
		if st, err := os.Lstat(l); err != nil || st.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("%s is no longer a link", l)
		}
		if b, err := os.ReadFile(target); err != nil || len(b) < 100 {
			t.Errorf("%s: %d bytes, %v; want the generated file", target, len(b), err)
		}
	}
}
