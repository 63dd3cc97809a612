//go:build linux

package cmd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rtbench/rtbench/transport/mock"
	"github.com/rtbench/rtbench/transport/pubsub"
)

// reusePortSupported: Linux spreads the connections of one port over the
// SO_REUSEPORT listeners bound to it (by a hash of the connection's
// addresses), which serve --procs needs.
const reusePortSupported = true

// The files a serve --procs child inherits after stdin, stdout, stderr.
const (
	childRelayFD = 3 // its end of the hub relay (a unix socket)
	childReadyFD = 4 // a pipe: the child writes "ready" once it listens
)

// serveProcs is serve --procs N: N child processes of this binary, each a
// whole server on one SO_REUSEPORT port, their hubs joined by a sequencer
// here (transport/pubsub relay.go). It supervises them: one banner once
// all listen, SIGTERM to each on a stop, and a stop of all when one exits.
func serveProcs(ctx context.Context, env *Env, opts *ServeOptions) error {
	host, _, _ := net.SplitHostPort(opts.Addr)
	port, release, err := reservePort(opts.Addr)
	if err != nil {
		return err
	}
	defer release()
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("--procs: finding this program to start its processes: %w", err)
	}
	var id [4]byte
	rand.Read(id[:])
	instance := hex.EncodeToString(id[:])
	addr := net.JoinHostPort(host, strconv.Itoa(port))

	seq := pubsub.NewSequencer(opts.Mock.Hub)
	type exit struct {
		n   int
		err error
	}
	exited := make(chan exit, opts.Procs)
	ready := make(chan int, opts.Procs)
	var children []*exec.Cmd
	stopAll := func() {
		for _, c := range children {
			c.Process.Signal(syscall.SIGTERM) // an exited one answers an error: nothing to do
		}
	}
	running := 0
	// waitAll waits for every child still running, SIGKILL past the
	// shutdown timeout and the time it may take to cut connections.
	waitAll := func() {
		kill := time.NewTimer(opts.Mock.ShutdownTimeout + 10*time.Second)
		defer kill.Stop()
		for running > 0 {
			select {
			case <-exited:
				running--
			case <-kill.C:
				for _, c := range children {
					c.Process.Kill()
				}
			}
		}
	}
	for n := 1; n <= opts.Procs; n++ {
		c, err := startServeChild(exe, addr, n, opts.Procs, instance, env, seq, ready)
		if err != nil {
			stopAll()
			waitAll()
			return err
		}
		children = append(children, c)
		running++
		go func() { exited <- exit{n, c.Wait()} }()
	}
	for listening := 0; listening < opts.Procs; {
		select {
		case <-ready:
			listening++
		case e := <-exited:
			running--
			stopAll()
			waitAll()
			return fmt.Errorf("serve process %d of %d exited before listening (%v); see its message above", e.n, opts.Procs, e.err)
		case <-ctx.Done():
			stopAll()
			waitAll()
			return nil
		}
	}
	release() // the children hold the port now
	scheme := "http"
	fmt.Fprintf(env.ErrOut, "rtbench serve: listening on %s://%s with %d processes sharing the port (SO_REUSEPORT; GET / lists every endpoint; Ctrl-C stops)\n",
		scheme, addr, opts.Procs)
	var failed error
	select {
	case <-ctx.Done():
		fmt.Fprintln(env.ErrOut, "rtbench serve: shutting down")
	case e := <-exited:
		running--
		failed = fmt.Errorf("serve process %d of %d exited (%v); stopped the others", e.n, opts.Procs, e.err)
	}
	stopAll()
	waitAll()
	if failed != nil {
		return failed
	}
	fmt.Fprintf(env.ErrOut, "rtbench serve: stopped; %d processes exited\n", opts.Procs)
	return nil
}

// startServeChild starts process n of serve --procs: this program with
// this command line, --addr set to the reserved port and the child flags,
// in a process group of its own (a terminal's Ctrl-C reaches the parent,
// which forwards one SIGTERM) and sent SIGTERM if the parent dies.
func startServeChild(exe, addr string, n, procs int, instance string, env *Env, seq *pubsub.Sequencer, ready chan<- int) (*exec.Cmd, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("--procs: %w", err)
	}
	mine, theirs := os.NewFile(uintptr(fds[0]), "relay"), os.NewFile(uintptr(fds[1]), "relay")
	defer theirs.Close()
	readyR, readyW, err := os.Pipe()
	if err != nil {
		mine.Close()
		return nil, fmt.Errorf("--procs: %w", err)
	}
	defer readyW.Close()
	args := append(slices.Clone(os.Args[1:]), "--addr", addr, "--procs-child", strconv.Itoa(n), "--procs-instance", instance)
	c := exec.Command(exe, args...)
	c.Env = childEnv(procs)
	c.Stdout, c.Stderr = env.Out, env.ErrOut
	c.ExtraFiles = []*os.File{theirs, readyW} // childRelayFD, childReadyFD
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := c.Start(); err != nil {
		mine.Close()
		readyR.Close()
		return nil, fmt.Errorf("--procs: starting serve process %d: %w", n, err)
	}
	conn, err := net.FileConn(mine)
	mine.Close()
	if err != nil {
		c.Process.Kill()
		c.Wait()
		readyR.Close()
		return nil, fmt.Errorf("--procs: %w", err)
	}
	go seq.Add(n, conn)()
	go func() {
		defer readyR.Close()
		b, _ := io.ReadAll(readyR)
		if string(b) == "ready" {
			ready <- n
		}
	}()
	return c, nil
}

// reservePort checks that addr is free and holds its port (port 0: a free
// one) with a socket bound with SO_REUSEPORT but not listening, so the
// children can bind it and nothing else can take it meanwhile; release
// closes it. A listener of another program on the port fails the plain
// bind first, so serve never joins someone else's SO_REUSEPORT group.
func reservePort(addr string) (port int, release func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return 0, nil, UsageError("--addr %s is already in use; stop the other server or pick another port (--addr 127.0.0.1:0 picks a free one)", addr)
		}
		return 0, nil, UsageError("cannot listen on %s: %v", addr, err)
	}
	ta := ln.Addr().(*net.TCPAddr)
	ln.Close()
	family := unix.AF_INET6
	var sa unix.Sockaddr = &unix.SockaddrInet6{Port: ta.Port, Addr: [16]byte(ta.IP.To16())}
	if ip4 := ta.IP.To4(); ip4 != nil {
		family, sa = unix.AF_INET, &unix.SockaddrInet4{Port: ta.Port, Addr: [4]byte(ip4)}
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err == nil {
		if err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err == nil {
			err = unix.Bind(fd, sa)
		}
		if err != nil {
			unix.Close(fd)
		}
	}
	if err != nil {
		return 0, nil, fmt.Errorf("--procs: reserving port %d: %w", ta.Port, err)
	}
	closed := false
	return ta.Port, func() {
		if !closed {
			closed = true
			unix.Close(fd)
		}
	}, nil
}

// listenReusePort listens on addr with SO_REUSEPORT.
func listenReusePort(ctx context.Context, addr string) (net.Listener, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		}); err != nil {
			return err
		}
		return serr
	}}
	return lc.Listen(ctx, "tcp", addr)
}

// serveChild is process N of serve --procs: a whole server on the shared
// port whose hub is joined to the parent's sequencer. It stops on SIGTERM
// (from the parent) or when the parent is gone (the relay closes).
func serveChild(ctx context.Context, env *Env, opts *ServeOptions) error {
	n := opts.procChild
	relayFile := os.NewFile(childRelayFD, "relay")
	readyFile := os.NewFile(childReadyFD, "ready")
	if relayFile == nil || readyFile == nil {
		return UsageError("--procs-child is for the processes serve --procs starts")
	}
	defer readyFile.Close()
	conn, err := net.FileConn(relayFile)
	relayFile.Close()
	if err != nil {
		return UsageError("--procs-child is for the processes serve --procs starts (%v)", err)
	}
	ln, err := listenReusePort(ctx, opts.Addr)
	if err != nil {
		conn.Close()
		return fmt.Errorf("serve process %d: cannot listen on %s: %w", n, opts.Addr, err)
	}
	opts.Mock.Process = n
	opts.Mock.AblyInstance = opts.procInstance
	srv := mock.New(opts.Mock)
	relay := srv.Hub().Join(n, conn)
	defer relay.Close()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	io.WriteString(readyFile, "ready")
	readyFile.Close()
	select {
	case err := <-errc:
		return fmt.Errorf("serve process %d: serving on %s: %w", n, ln.Addr(), err)
	case <-relay.Done():
		fmt.Fprintf(env.ErrOut, "rtbench serve (process %d): the parent process is gone; stopping\n", n)
	case <-ctx.Done():
	}
	cut, _ := srv.Shutdown(context.Background())
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	if cut > 0 {
		fmt.Fprintf(env.ErrOut, "rtbench serve (process %d): cut %d stuck connections at --shutdown-timeout %v\n", n, cut, opts.Mock.ShutdownTimeout)
	}
	return nil
}
