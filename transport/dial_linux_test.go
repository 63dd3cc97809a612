//go:build linux

package transport

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"testing"

	"golang.org/x/sys/unix"
)

// bindNoPortOf reads IP_BIND_ADDRESS_NO_PORT from a dialled connection.
func bindNoPortOf(t testing.TB, nc net.Conn) int {
	t.Helper()
	rc, err := nc.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var serr error
	rc.Control(func(fd uintptr) { v, serr = unix.GetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT) })
	if serr != nil {
		t.Fatal(serr)
	}
	return v
}

// closingListener is a loopback listener that accepts and closes every
// connection, until the test ends.
func closingListener(tb testing.TB) net.Listener {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln
}

// TestDialSourceAddressBindsNoPort: a connection from a given source address
// (--source-ips) is bound to that address with IP_BIND_ADDRESS_NO_PORT, so
// connect() picks its port by the 4-tuple instead of bind() searching for
// one; without a source address nothing is bound. Both dialers: the lean
// paths' DialTimed and net/http's (NewHTTPClient).
func TestDialSourceAddressBindsNoPort(t *testing.T) {
	ln := closingListener(t)
	u := &url.URL{Scheme: "http", Host: ln.Addr().String()}
	src := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}
	tests := []struct {
		name    string
		local   net.Addr
		want    int
		wantSrc string
	}{
		{"source address", src, 1, "127.0.0.2"},
		{"any", nil, 0, "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/DialTimed", func(t *testing.T) {
			nc, err := DialTimed(context.Background(), u, tt.local, 0, &Connect{})
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			if got := bindNoPortOf(t, nc); got != tt.want {
				t.Errorf("IP_BIND_ADDRESS_NO_PORT = %d, want %d", got, tt.want)
			}
			if got := nc.LocalAddr().(*net.TCPAddr).IP.String(); got != tt.wantSrc {
				t.Errorf("source address %s, want %s", got, tt.wantSrc)
			}
		})
		t.Run(tt.name+"/http", func(t *testing.T) {
			hc := NewHTTPClient(HTTPOptions{LocalAddr: tt.local})
			tr := hc.Transport.(*http.Transport)
			nc, err := tr.DialContext(context.Background(), "tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			if got := bindNoPortOf(t, nc); got != tt.want {
				t.Errorf("IP_BIND_ADDRESS_NO_PORT = %d, want %d", got, tt.want)
			}
		})
	}
}

// BenchmarkDialSourceAddress dials and closes a loopback connection from a
// given source address, as each of a --source-ips agent's sessions does.
//
//	go test -run '^$' -bench DialSourceAddress -benchmem ./transport/
func BenchmarkDialSourceAddress(b *testing.B) {
	ln := closingListener(b)
	u := &url.URL{Scheme: "http", Host: ln.Addr().String()}
	src := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 3)}
	b.ReportAllocs()
	for b.Loop() {
		nc, err := DialTimed(context.Background(), u, src, 0, &Connect{})
		if err != nil {
			b.Fatal(err)
		}
		nc.Close()
	}
}
