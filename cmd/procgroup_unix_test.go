//go:build unix

package cmd

import (
	"os/exec"
	"syscall"
)

// newProcessGroup makes c, once started, the leader of a new process group,
// so that killProcessGroup also reaches what it started (a shell's children).
func newProcessGroup(c *exec.Cmd) { c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

// killProcessGroup sends sig to the process group that pid leads.
func killProcessGroup(pid int, sig syscall.Signal) error { return syscall.Kill(-pid, sig) }
