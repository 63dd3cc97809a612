package bench

import (
	"errors"
	"fmt"
	"math/bits"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// Pre-flight limits. Each one decides whether a run may start, so the
// report header prints them.
const (
	// FileHeadroom is the open files rtbench needs besides one per
	// connection (its binary, stdio, the listener of a local mock, DNS,
	// log and result files).
	FileHeadroom = 64
	// DefaultEphemeralPorts is Linux's default ip_local_port_range
	// (32768–60999): the local ports one source address has for one
	// destination, used when the range cannot be read.
	DefaultEphemeralPorts = 28232
	// MaxSourceIPs bounds what ParseSourceIPs expands.
	MaxSourceIPs = 65536
)

// ErrPreflight is wrapped by every refusal of CheckFiles and CheckPorts, so
// a caller can tell "the machine cannot run this plan" from other errors.
var ErrPreflight = errors.New("pre-flight check failed")

// CheckFiles checks that the process may open a file per connection plus
// FileHeadroom. Go raises the soft RLIMIT_NOFILE to the hard limit at start,
// so a refusal usually means the hard limit is too low (a container, a
// systemd unit, `ulimit -Hn`); the error gives both numbers and what to do.
// When the limits cannot be read (another OS), it does not refuse.
func CheckFiles(connections int) error {
	return checkFiles(connections, openFileLimit)
}

// OpenFileLimit returns this process's soft and hard open-files limit
// (RLIMIT_NOFILE), or errors.ErrUnsupported where the OS has none (Windows).
func OpenFileLimit() (soft, hard uint64, err error) { return openFileLimit() }

func checkFiles(connections int, limit func() (soft, hard uint64, err error)) error {
	soft, hard, err := limit()
	if err != nil || connections <= 0 {
		return nil
	}
	need := uint64(connections) + FileHeadroom
	if need <= soft {
		return nil
	}
	if need <= hard {
		return fmt.Errorf("%w: %d connections need about %d open files (one each, plus %d for rtbench), "+
			"but the soft limit is %d (hard limit %d): raise it with `ulimit -n %d` before running rtbench",
			ErrPreflight, connections, need, FileHeadroom, soft, hard, hard)
	}
	most := 0
	if soft > FileHeadroom {
		most = int(soft - FileHeadroom)
	}
	return fmt.Errorf("%w: %d connections need about %d open files (one each, plus %d for rtbench), "+
		"but this process may open only %d (soft limit %d, hard limit %d). "+
		"Lower -c to at most %d; or raise the hard limit (`ulimit -Hn` as root, LimitNOFILE= for a systemd unit, "+
		"--ulimit nofile= for a container) and then `ulimit -n`; or split the load over several processes "+
		"or machines and merge their results",
		ErrPreflight, connections, need, FileHeadroom, soft, soft, hard, most)
}

// CheckPorts checks that connections to destinations (target addresses,
// at least 1) from sourceAddrs local addresses (0 or 1: the one the OS
// picks) fit in the ephemeral port range: each (source, destination) pair
// has only about 28,000 local ports (Linux's ip_local_port_range), so more
// connections than that from one address to one target need several source
// addresses. The error says how many.
func CheckPorts(connections, sourceAddrs, destinations int) error {
	ports, desc := EphemeralPorts()
	return checkPorts(connections, sourceAddrs, destinations, ports, desc)
}

func checkPorts(connections, sourceAddrs, destinations, ports int, desc string) error {
	src, dst := max(sourceAddrs, 1), max(destinations, 1)
	per := ports * dst // connections one source address can make
	if ports <= 0 || connections <= per*src {
		return nil
	}
	need := (connections + per - 1) / per
	return fmt.Errorf("%w: %d connections from %d source address(es) to %d destination(s) need more local ports "+
		"than the %d ephemeral ports (%s) each (source, destination) pair has: give at least %d source addresses "+
		"that this host owns, e.g. --source-ips 127.0.0.1-127.0.0.%d against a loopback target, "+
		"or widen net.ipv4.ip_local_port_range, or split the load over several machines",
		ErrPreflight, connections, src, dst, ports, desc, need, min(need, 254))
}

// SessionsPerSource is how many connections rtbench puts on one source
// address towards one target when it picks the source addresses itself
// (load against a loopback target, and each agent of load --procs): four
// fifths of the ports connect() takes cheaply.
//
// Linux's connect() looks for a free local port among the even ports of
// ip_local_port_range first (it keeps the odd ones for bind()), starting
// where the last search ended. Past half the range it scans every even
// port, each one a lookup in the established table, before it tries an
// odd one: measured on Linux 6.18, a connect costs ~40 µs of CPU up to
// 14,000 connections from one address and 1.2–4 ms past 14,116, enough
// to stall a ramp of 1,000 sessions/s outright (docs/BENCHMARKS.md,
// "The connect() cliff").
func SessionsPerSource() int {
	ports, _ := EphemeralPorts()
	return max(ports/2*4/5, 1)
}

// LoopbackSources returns the source addresses for held connections from
// one process to an IPv4 loopback target: block.1, block.2, … (block is
// "127.0.0" for a lone process, "127.0.i+1" for agent i of load --procs),
// one per SessionsPerSource connections, at most 254. Every 127/8 address
// is this host's own on Linux, so nothing needs configuring; elsewhere
// (macOS has only 127.0.0.1) it returns nil and the OS picks.
func LoopbackSources(block string, held int) []net.IP {
	if runtime.GOOS != "linux" || held <= 0 {
		return nil
	}
	per := SessionsPerSource()
	k := min((held+per-1)/per, 254)
	out := make([]net.IP, 0, k)
	for i := 1; i <= k; i++ {
		out = append(out, net.ParseIP(fmt.Sprintf("%s.%d", block, i)))
	}
	return out
}

// EphemeralPorts returns how many local ports the OS hands out to outgoing
// connections and a description of the range: read from Linux's
// /proc/sys/net/ipv4/ip_local_port_range, else DefaultEphemeralPorts.
func EphemeralPorts() (n int, desc string) {
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if n, desc, ok := parsePortRange(string(b)); ok {
			return n, desc
		}
	}
	return DefaultEphemeralPorts, "32768–60999, Linux's default"
}

func parsePortRange(s string) (int, string, bool) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return 0, "", false
	}
	lo, err1 := strconv.Atoi(f[0])
	hi, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || lo < 1 || hi > 65535 || hi < lo {
		return 0, "", false
	}
	return hi - lo + 1, fmt.Sprintf("%d–%d", lo, hi), true
}

// ParseSourceIPs reads a list of local source addresses, as k6's
// --local-ips: comma-separated addresses ("10.0.0.1,10.0.0.2"), inclusive
// ranges ("127.0.0.1-127.0.0.16") and CIDR prefixes ("10.0.0.0/30", every
// address of the prefix), IPv4 or IPv6, at most MaxSourceIPs in all.
func ParseSourceIPs(s string) ([]net.IP, error) {
	var out []net.IP
	addOne := func(a netip.Addr) error {
		if len(out) >= MaxSourceIPs {
			return fmt.Errorf("source addresses %q: more than %d", s, MaxSourceIPs)
		}
		out = append(out, net.IP(a.AsSlice()))
		return nil
	}
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		switch {
		case item == "":
			return nil, fmt.Errorf("source addresses %q: an empty item", s)
		case strings.Contains(item, "/"):
			p, err := netip.ParsePrefix(item)
			if err != nil {
				return nil, fmt.Errorf("source addresses: %q is not a CIDR prefix such as 10.0.0.0/30", item)
			}
			p = p.Masked()
			host := p.Addr().BitLen() - p.Bits()
			if host >= bits.UintSize-1 || len(out)+1<<host > MaxSourceIPs {
				return nil, fmt.Errorf("source addresses: %q has more than %d addresses", item, MaxSourceIPs)
			}
			for a, i := p.Addr(), 0; i < 1<<host; a, i = a.Next(), i+1 {
				if err := addOne(a); err != nil {
					return nil, err
				}
			}
		case strings.Contains(item, "-"):
			from, to, _ := strings.Cut(item, "-")
			a, err1 := parseIP(strings.TrimSpace(from))
			b, err2 := parseIP(strings.TrimSpace(to))
			switch {
			case err1 != nil || err2 != nil:
				return nil, fmt.Errorf("source addresses: %q is not a range such as 127.0.0.1-127.0.0.16", item)
			case a.Is4() != b.Is4():
				return nil, fmt.Errorf("source addresses: %q mixes IPv4 and IPv6", item)
			case b.Less(a):
				return nil, fmt.Errorf("source addresses: %q ends before it starts", item)
			}
			for ; ; a = a.Next() {
				if err := addOne(a); err != nil {
					return nil, err
				}
				if a == b {
					break
				}
			}
		default:
			a, err := parseIP(item)
			if err != nil {
				return nil, fmt.Errorf("source addresses: %q is not an IP address", item)
			}
			if err := addOne(a); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// parseIP reads an address without a zone, IPv4-mapped IPv6 as IPv4.
func parseIP(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return a, err
	}
	if a.Zone() != "" {
		return a, errors.New("zones are not supported")
	}
	return a.Unmap(), nil
}
