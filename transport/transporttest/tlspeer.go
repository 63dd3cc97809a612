package transporttest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport/tlscert"
)

// TLSScriptPeer is ScriptPeer for a peer that serves TLS: it generates a
// self-signed certificate for 127.0.0.1 (tlscert), writes it and its key
// into the test's temp directory, runs `interpreter script CERT KEY`, and
// returns the https:// base URL and the certificate's path (what --cacert
// takes to trust the peer).
func TLSScriptPeer(t testing.TB, interpreter, script string) (baseURL, certFile string) {
	t.Helper()
	bin, err := exec.LookPath(interpreter)
	if err != nil {
		t.Fatalf("the interop tests need %s on PATH: %v", interpreter, err)
	}
	c, err := tlscert.Generate(nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, c.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, c.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, script, certFile, keyFile)
	u := startPeer(t, cmd, "the "+interpreter+" TLS peer "+script)
	return "https://" + strings.TrimPrefix(u, "http://"), certFile
}
