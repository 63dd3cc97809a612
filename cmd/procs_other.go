//go:build !linux

package cmd

import (
	"os"
	"syscall"
)

// childProcAttr: outside Linux the agents stay in rtbench's process group
// (no parent-death signal), see procs_linux.go.
func childProcAttr() *syscall.SysProcAttr { return nil }

// terminate asks an agent process to stop; where signals other than kill
// are not delivered (Windows), it kills it.
func terminate(p *os.Process) {
	if p.Signal(os.Interrupt) != nil {
		p.Kill()
	}
}
