package cmd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport/transporttest"
)

// nodeProc is a Node script run by nodeScript: a client nobody here wrote,
// talking JSON lines on stdout.
type nodeProc struct {
	name   string
	lines  chan map[string]any
	stdin  io.Closer
	cmd    *exec.Cmd
	stderr bytes.Buffer
	once   sync.Once
	rest   []map[string]any
}

// nodeScript runs `node testdata/DIR/SCRIPT args…` with testdata/DIR's
// locked npm packages on NODE_PATH, for at most a minute. Each stdout line
// is a JSON object (a line that is not arrives as {"fatal": …}); the script
// exits when its stdin closes. The test's cleanup ends it.
func nodeScript(t *testing.T, dir, script string, args ...string) *nodeProc {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("this test needs Node.js (node on PATH): %v", err)
	}
	dir = filepath.Join("..", "testdata", dir)
	modules := transporttest.NodeModules(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	n := &nodeProc{name: filepath.Join(dir, script), lines: make(chan map[string]any, 1024)}
	n.cmd = exec.CommandContext(ctx, node, append([]string{n.name}, args...)...)
	n.cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	n.cmd.Stderr = &n.stderr
	stdout, err := n.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if n.stdin, err = n.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := n.cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() {
		defer close(n.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var v map[string]any
			if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
				v = map[string]any{"fatal": fmt.Sprintf("not JSON: %q", sc.Text())}
			}
			n.lines <- v
		}
	}()
	t.Cleanup(func() {
		n.end()
		cancel()
		if t.Failed() {
			t.Logf("%s stderr:\n%s", n.name, n.stderr.String())
		}
	})
	return n
}

// next returns the script's next line, failing t when the script printed
// {"fatal": …}, ended, or printed nothing within wait.
func (n *nodeProc) next(t *testing.T, wait time.Duration) map[string]any {
	t.Helper()
	select {
	case v, ok := <-n.lines:
		if !ok {
			t.Fatalf("%s ended early", n.name)
		}
		if v["fatal"] != nil {
			t.Fatalf("%s: %v", n.name, v["fatal"])
		}
		return v
	case <-time.After(wait):
		t.Fatalf("%s: no line within %v", n.name, wait)
	}
	return nil
}

// end closes the script's stdin, waits for it to exit and returns the
// lines it printed that next did not take.
func (n *nodeProc) end() []map[string]any {
	n.once.Do(func() {
		n.stdin.Close()
		for v := range n.lines {
			n.rest = append(n.rest, v)
		}
		n.cmd.Wait()
	})
	return n.rest
}
