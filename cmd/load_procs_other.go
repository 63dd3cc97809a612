//go:build !linux

package cmd

import (
	"os"
	"syscall"
)

// agentProcAttr: outside Linux the agents stay in rtbench's process group
// (no parent-death signal), see load_procs_linux.go.
func agentProcAttr() *syscall.SysProcAttr { return nil }

// stopAgent asks an agent process to stop; where signals other than kill
// are not delivered (Windows), it kills it.
func stopAgent(p *os.Process) {
	if p.Signal(os.Interrupt) != nil {
		p.Kill()
	}
}
