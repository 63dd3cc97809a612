//go:build !linux

package transport

import "syscall"

// bindNoPort: only Linux has IP_BIND_ADDRESS_NO_PORT; elsewhere the bind
// takes its port as usual.
var bindNoPort func(network, address string, c syscall.RawConn) error
