package cmd

import (
	"os"
	"syscall"
)

// agentProcAttr puts an agent process of load --procs in a process group of
// its own, so a Ctrl-C at the terminal reaches it once, from its parent
// (rtbench exits at once on a second signal), and kills it if the parent
// dies without stopping it.
func agentProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// stopAgent asks an agent process to stop, as Ctrl-C would.
func stopAgent(p *os.Process) { p.Signal(syscall.SIGTERM) }
