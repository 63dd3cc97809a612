package cmd

import (
	"os"
	"runtime"
	"strconv"
)

// childEnv is the environment of one of n child processes that share this
// machine (load --procs agents, serve --procs servers): this process's,
// with GOMAXPROCS set to the child's share of the cores (at least 1). Left
// at the default, n runtimes would each run as many threads as there are
// cores, and their schedulers would spin against each other for CPUs that
// are already taken.
func childEnv(n int) []string {
	return append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(max(1, runtime.NumCPU()/n)))
}
