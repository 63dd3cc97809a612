package transporttest

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// NodePeer starts testdata/peer/server.js, a small SSE, WebSocket, polling
// and OpenAI-style server written with Node's http module and the npm `ws`
// package, and returns its base URL ("http://127.0.0.1:port"). It is a
// target nobody on this project wrote the protocol code of. peerDir is the
// path of testdata/peer from the calling test's directory.
//
// The npm dependencies are installed once per lockfile into the system temp
// directory with `npm ci` (the registry is reachable here and in CI); Node.js
// and npm must be on PATH, and the test fails, not skips, when they are not.
func NodePeer(t testing.TB, peerDir string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("the interop tests need Node.js (node on PATH): %v", err)
	}
	modules := NodeModules(t, peerDir)
	cmd := exec.Command(node, filepath.Join(peerDir, "server.js"))
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	return startPeer(t, cmd, "the Node peer")
}

// NodeModules installs the npm packages locked in dir (a testdata folder
// with package.json and package-lock.json) and returns the node_modules
// path to give Node as NODE_PATH. It runs npm ci once per lockfile into a
// directory of the system temp directory keyed by the lockfile's hash;
// concurrent test binaries race safely because each installs into its own
// directory and renames it into place, and a marker file written after npm
// ci says the install is whole. npm must be on PATH: the test fails, not
// skips, without it.
func NodeModules(t testing.TB, dir string) string {
	t.Helper()
	return installPeer(t, dir)
}

// installedMarker is written into an install's directory after npm ci.
const installedMarker = ".rtbench-installed"

func installPeer(t testing.TB, peerDir string) string {
	t.Helper()
	lock, err := os.ReadFile(filepath.Join(peerDir, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(lock)
	dir := filepath.Join(os.TempDir(), "rtbench-peer-"+hex.EncodeToString(sum[:6]))
	modules := filepath.Join(dir, "node_modules")
	if _, err := os.Stat(filepath.Join(dir, installedMarker)); err == nil {
		return modules
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatalf("the interop tests need npm to install the peer's dependencies: %v", err)
	}
	tmp, err := os.MkdirTemp(os.TempDir(), "rtbench-peer-install-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	for _, f := range []string{"package.json", "package-lock.json"} {
		b, err := os.ReadFile(filepath.Join(peerDir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s failed: %v\n%s", peerDir, err, out)
	}
	if err := os.WriteFile(filepath.Join(tmp, installedMarker), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(filepath.Join(dir, installedMarker)); statErr != nil {
			// An install without the marker was cut short: replace it.
			os.RemoveAll(dir)
			err = os.Rename(tmp, dir)
		}
		if _, statErr := os.Stat(filepath.Join(dir, installedMarker)); statErr != nil {
			t.Fatalf("installing the Node peer: %v", err)
		}
	}
	return modules
}

// ScriptPeer runs a peer server written in another language, with no
// dependencies to install: interpreter ("node", "python3") running script,
// which prints {"port":N} on stdout, serves 127.0.0.1:N and exits when its
// stdin ends. It returns the base URL; the server is stopped when the test
// ends. The test fails, not skips, when the interpreter is missing.
func ScriptPeer(t testing.TB, interpreter, script string) string {
	t.Helper()
	bin, err := exec.LookPath(interpreter)
	if err != nil {
		t.Fatalf("the interop tests need %s on PATH: %v", interpreter, err)
	}
	cmd := exec.Command(bin, script)
	return startPeer(t, cmd, "the "+interpreter+" peer "+script)
}

// startPeer starts cmd, a server that prints {"port":N} on stdout, serves
// 127.0.0.1:N and exits when its stdin ends; it returns the base URL and
// stops the server (killing it after 5 s) when the test ends.
func startPeer(t testing.TB, cmd *exec.Cmd, name string) string {
	t.Helper()
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close() // the server exits when its stdin ends
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("%s did not start: %v", name, err)
	}
	var hello struct{ Port int }
	if err := json.Unmarshal([]byte(line), &hello); err != nil || hello.Port == 0 {
		t.Fatalf("%s printed %q, want {\"port\":N}", name, line)
	}
	return fmt.Sprintf("http://127.0.0.1:%d", hello.Port)
}
