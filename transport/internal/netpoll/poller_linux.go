package netpoll

import (
	"cmp"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
)

// Supported says whether this system has pollers.
func Supported() bool { return true }

// maxEvents is how many ready connections one wait returns at most.
const maxEvents = 128

// poller is one epoll set and the goroutine that serves it. The goroutine
// runs while the set holds connections, and parks in the Go runtime's own
// poller (the epoll descriptor is itself readable while any of its
// connections is ready) rather than in a blocking epoll_wait, so it holds no
// thread while it waits.
type poller struct {
	epfd int
	file *os.File        // epfd, registered with the runtime's poller
	raw  syscall.RawConn // of file
	rawE error           // file cannot be waited for through raw: block in epoll_wait

	mu      sync.Mutex
	conns   []*Conn // by slot; nil: free
	free    []int32
	count   int  // registered connections
	running bool // the goroutine is serving the set

	events [maxEvents]syscall.EpollEvent // the goroutine's
	again  []*Conn                       // to call again, having asked for more
	spare  []*Conn
	n      int
	err    error
	waitFn func(fd uintptr) bool
}

var (
	pollersOnce sync.Once
	pollers     []*poller
	pollersErr  error
	next        atomic.Uint32
)

// NewConn makes a TCP or Unix stream socket ready for Register: it takes a
// duplicate of its descriptor. Until Register succeeds, nc is the caller's
// as before, and nothing reads it.
func NewConn(nc net.Conn) (*Conn, error) {
	sc, err := syscallConn(nc)
	if err != nil {
		return nil, err
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	fd := -1
	var derr error
	if err := raw.Control(func(s uintptr) {
		var r uintptr
		var e syscall.Errno
		r, _, e = syscall.Syscall(syscall.SYS_FCNTL, s, syscall.F_DUPFD_CLOEXEC, 0)
		if e != 0 {
			derr = os.NewSyscallError("fcntl", e)
			return
		}
		fd = int(r)
	}); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, derr
	}
	return &Conn{fd: fd, nc: nc, laddr: nc.LocalAddr(), raddr: nc.RemoteAddr()}, nil
}

// Register adds c to one of the pollers (one per processor, taken in
// turn), then closes the net.Conn c was made from: from then on c is the
// connection. h.Readable is called soon after, then whenever the socket is
// readable, until h calls Deregister. A Conn is registered once. When
// Register fails, c is closed and the net.Conn is left as it was.
func (c *Conn) Register(h Handler) error {
	pollersOnce.Do(func() {
		for range runtime.GOMAXPROCS(0) {
			p, err := newPoller()
			if err != nil {
				pollersErr = err
				return
			}
			pollers = append(pollers, p)
		}
	})
	err := pollersErr
	if err == nil {
		p := pollers[next.Add(1)%uint32(len(pollers))]
		err = p.add(c, h)
	}
	if err != nil {
		c.Close()
		return err
	}
	c.nc.Close() // the duplicate keeps the connection open
	c.nc = nil
	return nil
}

// Shutdown shuts the connection's reading side: a Read in progress or to
// come sees the end of the stream, and the poller calls Readable for it. It
// may be called from any goroutine, before or after Close.
func (c *Conn) Shutdown() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	return os.NewSyscallError("shutdown", syscall.Shutdown(c.fd, syscall.SHUT_RD))
}

// Close closes the connection, once it is deregistered (or was never
// registered).
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	return os.NewSyscallError("close", syscall.Close(c.fd))
}

func newPoller() (*poller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("netpoll: epoll_create1: %w", err)
	}
	p := &poller{epfd: epfd}
	p.waitFn = p.waitNow
	if err := syscall.SetNonblock(epfd, true); err == nil {
		p.file = os.NewFile(uintptr(epfd), "netpoll")
		p.raw, p.rawE = p.file.SyscallConn()
	} else {
		p.rawE = err
	}
	return p, nil
}

// add registers c. Its first event is a kick: the socket is writable (its
// send buffer is not full, as it is not once a request has been answered),
// so Readable is called even when the bytes to read are already buffered
// above the socket and no more come; the first wake-up then narrows the
// interest to reading.
func (p *poller) add(c *Conn, h Handler) error {
	c.p, c.h, c.kick = p, h, true
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		c.slot = p.free[n-1]
		p.free = p.free[:n-1]
		p.conns[c.slot] = c
	} else {
		c.slot = int32(len(p.conns))
		p.conns = append(p.conns, c)
	}
	p.count++
	start := !p.running
	p.running = true
	p.mu.Unlock()
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLOUT, Fd: c.slot}
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, c.fd, &ev); err != nil {
		p.mu.Lock()
		p.release(c)
		if start && p.count == 0 {
			p.running, start = false, false
		} // else another connection was added meanwhile, counting on this start
		p.mu.Unlock()
		if start {
			go p.serve()
		}
		return fmt.Errorf("netpoll: epoll_ctl: %w", err)
	}
	if start {
		go p.serve()
	}
	return nil
}

func (p *poller) remove(c *Conn) {
	syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, c.fd, nil)
	p.mu.Lock()
	p.release(c)
	p.mu.Unlock()
}

// release frees c's slot; p.mu is held.
func (p *poller) release(c *Conn) {
	if p.conns[c.slot] != c {
		return
	}
	p.conns[c.slot] = nil
	p.free = append(p.free, c.slot)
	p.count--
}

// serve calls the Handler of each ready connection until the set is empty.
// Only connections' Handlers remove them, on this goroutine, so the set can
// only become empty here. A Handler that asks for more is called again
// after the connections that were ready meanwhile (the poller then looks
// for them without waiting).
func (p *poller) serve() {
	for {
		var n int
		if len(p.again) > 0 {
			n = p.poll()
		} else {
			n = p.wait()
		}
		again := p.again
		p.again = p.spare[:0]
		for _, c := range again {
			c.more = false
			if p.registered(c) {
				p.call(c)
			}
		}
		p.spare = again[:0]
		for i := range n {
			ev := p.events[i]
			p.mu.Lock()
			var c *Conn
			if int(ev.Fd) < len(p.conns) {
				c = p.conns[ev.Fd]
			}
			p.mu.Unlock()
			if c == nil {
				continue // removed earlier in this batch
			}
			if c.kick {
				c.kick = false
				mod := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: c.slot}
				syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_MOD, c.fd, &mod)
			}
			p.call(c)
		}
		p.mu.Lock()
		if p.count == 0 {
			p.running = false
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
	}
}

// call calls c's Handler, and queues it to be called again if it asks.
func (p *poller) call(c *Conn) {
	if c.h.Readable() && !c.more && p.registered(c) {
		c.more = true
		p.again = append(p.again, c)
	}
}

func (p *poller) registered(c *Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conns[c.slot] == c
}

// poll takes the ready events without waiting.
func (p *poller) poll() int {
	for {
		n, err := syscall.EpollWait(p.epfd, p.events[:], 0)
		if err == syscall.EINTR {
			continue
		}
		return max(n, 0)
	}
}

// wait returns how many events it put in p.events, at least one.
func (p *poller) wait() int {
	if p.rawE == nil {
		p.n, p.err = 0, nil
		err := p.raw.Read(p.waitFn)
		if err == nil && p.err == nil {
			return p.n
		}
		p.rawE = cmp.Or(err, p.err) // not pollable after all: block in epoll_wait from now on
	}
	for {
		n, err := syscall.EpollWait(p.epfd, p.events[:], -1)
		if err == nil && n > 0 {
			return n
		}
		if err != nil && err != syscall.EINTR {
			panic(fmt.Sprintf("netpoll: epoll_wait: %v", err)) // EBADF, EFAULT, EINVAL: a bug here
		}
	}
}

// waitNow takes the ready events without waiting; false asks the runtime to
// wait until the epoll descriptor is readable and call it again.
func (p *poller) waitNow(fd uintptr) bool {
	for {
		n, err := syscall.EpollWait(int(fd), p.events[:], 0)
		if err == syscall.EINTR {
			continue
		}
		p.n, p.err = n, err
		return n > 0 || err != nil
	}
}

// Read reads what the socket holds now, without waiting: ErrWouldBlock when
// there is nothing yet, io.EOF at the end of the stream. Only the Handler,
// on its poller goroutine, reads.
//
// A read that returned less than it had room for emptied the socket, so the
// Read after it answers ErrWouldBlock without asking the kernel: the
// connection's poller is told when more comes (its registration is
// level-triggered, so bytes that came in between are not missed, nor the
// end of the stream that came with the last bytes: edge-triggered, that
// end would never be reported again). That
// saves a system call per wake-up of a connection that gets one message at
// a time.
func (c *Conn) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if c.drained {
		c.drained = false
		return 0, ErrWouldBlock
	}
	for {
		n, err := syscall.Read(c.fd, b)
		switch {
		case err == nil && n > 0:
			c.drained = n < len(b)
			return n, nil
		case err == nil:
			return 0, io.EOF
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return 0, ErrWouldBlock
		}
		return 0, c.readError(err)
	}
}
