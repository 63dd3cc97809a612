//go:build !unix

package cmd

import (
	"os"
	"os/exec"
	"syscall"
)

// newProcessGroup: no process groups here; killProcessGroup ends the
// process alone. The tests that start processes need a Unix shell anyway.
func newProcessGroup(*exec.Cmd) {}

// killProcessGroup kills the process pid (there are no signals to send).
func killProcessGroup(pid int, _ syscall.Signal) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}
