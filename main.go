// Command rtbench tests and load-generates real-time endpoints.
package main

import (
	"os"

	"github.com/rtbench/rtbench/cmd"
)

// Set by the release build: -ldflags "-X main.version=... -X main.commit=... -X main.date=...".
var version, commit, date string

func main() {
	os.Exit(cmd.Main(cmd.BuildInfo{Version: version, Commit: commit, Date: date}, os.Args[1:]))
}
