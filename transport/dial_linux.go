//go:build linux

package transport

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// bindNoPort is the Dialer.Control of connections from a given source
// address (--source-ips): IP_BIND_ADDRESS_NO_PORT makes the bind() before
// connect() take the address only and leave the port to connect(), which
// picks it by the whole 4-tuple. Without it the kernel chooses the port at
// bind() time by searching its bind buckets for one no socket of that
// address holds: with 17,000 connections from one address that search was
// ~20 % of the load agents' CPU while 100,000 sessions ramped up
// (inet_bhash2_conflict, inet_bind2_bucket_find in perf), and it caps one
// address at the ephemeral range instead of the range per target.
func bindNoPort(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
	})
	if err != nil {
		return err
	}
	return serr
}
