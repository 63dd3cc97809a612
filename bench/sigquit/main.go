// Command sigquit is the smallest program that shows a Go runtime fault
// rtbench's tests work around: a net/http client reading an event stream,
// which bench/scripts/sigquit-segv.sh stops with SIGQUIT again and again.
// The runtime should dump every goroutine and exit 2; on some machines its
// SIGQUIT handler dies of SIGSEGV in the middle of the dump instead. This
// program has none of rtbench's code, so a SIGSEGV here is the runtime's.
//
//	sigquit -url http://127.0.0.1:18131/sse?rate=50
//
// It prints "ready" on stderr once the first line of the stream arrived.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net/http"
	"os"
)

func main() {
	url := flag.String("url", "", "the event stream to read")
	flag.Parse()
	resp, err := http.Get(*url)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sc := bufio.NewScanner(resp.Body)
	ready := false
	for sc.Scan() {
		if !ready {
			fmt.Fprintln(os.Stderr, "ready")
			ready = true
		}
	}
	fmt.Fprintln(os.Stderr, "the stream ended:", sc.Err())
	os.Exit(1)
}
