package transport

import (
	"context"
	"net"
	"net/netip"
	"net/url"
	"time"
)

// DialTimed opens a TCP connection to u's host (port 80 when u has none)
// the way the lean session paths do without net/http: it resolves the host,
// timing DNS into c.DNS unless the host is an IP literal, and tries its
// addresses in turn, timing the connect into c.TCP; the whole dial is
// bounded by timeout (DefaultDialTimeout when 0). local, when set, is the
// source address.
func DialTimed(ctx context.Context, u *url.URL, local net.Addr, timeout time.Duration, c *Connect) (net.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, or(timeout, DefaultDialTimeout))
	defer cancel()
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "80"
	}
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{ip}
	} else {
		start := time.Now()
		addrs, err = net.DefaultResolver.LookupNetIP(dctx, "ip", host)
		c.DNS = time.Since(start)
		if err != nil {
			return nil, err
		}
	}
	d := net.Dialer{LocalAddr: local, KeepAlive: 30 * time.Second}
	if local != nil {
		d.Control = bindNoPort
	}
	start := time.Now()
	var first error
	for _, ip := range addrs {
		nc, err := d.DialContext(dctx, "tcp", net.JoinHostPort(ip.Unmap().String(), port))
		if err == nil {
			c.TCP = time.Since(start)
			return nc, nil
		}
		if first == nil {
			first = err
		}
		if dctx.Err() != nil {
			break
		}
	}
	if first == nil {
		first = &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
	}
	return nil, first
}
