package bench

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
)

func TestCheckFiles(t *testing.T) {
	limits := func(soft, hard uint64, err error) func() (uint64, uint64, error) {
		return func() (uint64, uint64, error) { return soft, hard, err }
	}
	for _, tc := range []struct {
		name        string
		connections int
		limit       func() (uint64, uint64, error)
		want        []string // substrings of the error; nil: no error
	}{
		{"fits", 1000, limits(20000, 20000, nil), nil},
		{"fits exactly with the headroom", 19936, limits(20000, 20000, nil), nil},
		{"over the hard limit: the numbers and the advice", 30000, limits(20000, 20000, nil),
			[]string{"30000 connections", "30064 open files", "soft limit 20000, hard limit 20000", "at most 19936", "ulimit -Hn", "several processes"}},
		{"one over", 19937, limits(20000, 20000, nil), []string{"at most 19936"}},
		{"a low hard limit in a container", 500, limits(256, 256, nil), []string{"may open only 256", "at most 192"}},
		{"soft below hard: raise the soft limit", 5000, limits(1024, 1048576, nil), []string{"soft limit is 1024", "ulimit -n 1048576"}},
		{"unlimited", 1_000_000, limits(^uint64(0), ^uint64(0), nil), nil},
		{"limits unknown: no refusal", 1_000_000, limits(0, 0, errors.ErrUnsupported), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkFiles(tc.connections, tc.limit)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("checkFiles: %v, want nil", err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrPreflight) {
				t.Fatalf("checkFiles = %v, want a pre-flight error", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestCheckFilesThisMachine(t *testing.T) {
	if err := CheckFiles(10); err != nil {
		t.Fatalf("CheckFiles(10) = %v", err)
	}
}

func TestCheckPorts(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		connections, src, dst int
		want                  []string
	}{
		{"one address is enough", 28000, 1, 1, nil},
		{"exactly the range", 28232, 0, 0, nil},
		{"one over", 28233, 1, 1, []string{"28233 connections from 1 source address(es) to 1 destination(s)", "28232 ephemeral ports", "at least 2 source addresses", "127.0.0.1-127.0.0.2"}},
		{"50k needs two", 50000, 1, 1, []string{"at least 2"}},
		{"100k from 3 is not enough", 100000, 3, 1, []string{"at least 4", "127.0.0.1-127.0.0.4"}},
		{"100k from 4 fits", 100000, 4, 1, nil},
		{"several destinations multiply", 100000, 1, 4, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkPorts(tc.connections, tc.src, tc.dst, DefaultEphemeralPorts, "32768–60999")
			if tc.want == nil {
				if err != nil {
					t.Fatalf("checkPorts: %v, want nil", err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrPreflight) {
				t.Fatalf("checkPorts = %v, want a pre-flight error", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	if n, desc := EphemeralPorts(); n <= 0 || desc == "" {
		t.Errorf("EphemeralPorts() = %d, %q", n, desc)
	}
}

func TestParsePortRange(t *testing.T) {
	for _, tc := range []struct {
		in     string
		want   int
		wantOK bool
	}{
		{"32768\t60999\n", 28232, true},
		{"1024 65535", 64512, true},
		{"60999 32768", 0, false},
		{"0 100", 0, false},
		{"32768", 0, false},
		{"a b", 0, false},
	} {
		if n, _, ok := parsePortRange(tc.in); n != tc.want || ok != tc.wantOK {
			t.Errorf("parsePortRange(%q) = %d, %v; want %d, %v", tc.in, n, ok, tc.want, tc.wantOK)
		}
	}
}

func TestParseSourceIPs(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    []string // first, last, count as strings
		count   int
		wantErr string
	}{
		{in: "127.0.0.1-127.0.0.16", want: []string{"127.0.0.1", "127.0.0.16"}, count: 16},
		{in: "10.0.0.1,10.0.0.2", want: []string{"10.0.0.1", "10.0.0.2"}, count: 2},
		{in: " 10.0.0.1 , 10.0.0.9 ", want: []string{"10.0.0.1", "10.0.0.9"}, count: 2},
		{in: "10.0.0.0/30", want: []string{"10.0.0.0", "10.0.0.3"}, count: 4},
		{in: "10.0.0.7/30", want: []string{"10.0.0.4", "10.0.0.7"}, count: 4},
		{in: "192.168.1.250-192.168.2.3", want: []string{"192.168.1.250", "192.168.2.3"}, count: 10},
		{in: "127.0.0.1-127.0.0.4,10.0.0.0/31,::1", want: []string{"127.0.0.1", "::1"}, count: 7},
		{in: "fd00::1-fd00::3", want: []string{"fd00::1", "fd00::3"}, count: 3},
		{in: "::ffff:10.0.0.1", want: []string{"10.0.0.1", "10.0.0.1"}, count: 1},
		{in: "10.0.0.5-10.0.0.5", want: []string{"10.0.0.5", "10.0.0.5"}, count: 1},
		{in: "", wantErr: "an empty item"},
		{in: "10.0.0.1,", wantErr: "an empty item"},
		{in: "10.0.0.300", wantErr: "not an IP address"},
		{in: "10.0.0.9-10.0.0.1", wantErr: "ends before it starts"},
		{in: "10.0.0.1-::5", wantErr: "mixes IPv4 and IPv6"},
		{in: "10.0.0.1-", wantErr: "not a range"},
		{in: "10.0.0.0/33", wantErr: "not a CIDR prefix"},
		{in: "10.0.0.0/8", wantErr: "more than 65536"},
		{in: "::/0", wantErr: "more than 65536"},
		{in: "10.0.0.0-10.1.0.0", wantErr: "more than 65536"},
		{in: "fe80::1%eth0", wantErr: "not an IP address"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseSourceIPs(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseSourceIPs = %v, %v; want an error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.count || got[0].String() != tc.want[0] || got[len(got)-1].String() != tc.want[1] {
				t.Fatalf("ParseSourceIPs = %v, want %d from %s to %s", got, tc.count, tc.want[0], tc.want[1])
			}
		})
	}
}

// FuzzParseSourceIPs: no panic; what parses is bounded, and every address
// parses back to itself.
func FuzzParseSourceIPs(f *testing.F) {
	for _, s := range []string{"127.0.0.1-127.0.0.16", "10.0.0.1,10.0.0.2", "10.0.0.0/30", "::1", "fd00::1-fd00::ff",
		"::ffff:1.2.3.4/120", "1.2.3.4-1.2.3.3", "0.0.0.0/16", ",", "a-b", "1.1.1.1/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ips, err := ParseSourceIPs(s)
		if err != nil {
			return
		}
		if len(ips) == 0 || len(ips) > MaxSourceIPs {
			t.Fatalf("%q: %d addresses", s, len(ips))
		}
		for _, ip := range ips[:min(len(ips), 16)] {
			back, err := ParseSourceIPs(ip.String())
			if err != nil || len(back) != 1 || !back[0].Equal(ip) {
				t.Fatalf("%q: %v parses back as %v, %v", s, ip, back, err)
			}
			if ip.To4() == nil && len(ip) != net.IPv6len {
				t.Fatalf("%q: malformed address %v", s, []byte(ip))
			}
		}
	})
}

func TestLoopbackSources(t *testing.T) {
	per := SessionsPerSource()
	if ports, _ := EphemeralPorts(); per < 1 || per > ports/2 {
		t.Fatalf("SessionsPerSource %d: want 1 to half of the %d ephemeral ports, the even ones connect() prefers", per, ports)
	}
	for _, tc := range []struct {
		block string
		held  int
		want  []string
	}{
		{"127.0.0", 0, nil},
		{"127.0.0", 1, []string{"127.0.0.1"}},
		{"127.0.0", per, []string{"127.0.0.1"}},
		{"127.0.0", per + 1, []string{"127.0.0.1", "127.0.0.2"}},
		{"127.0.4", 3 * per, []string{"127.0.4.1", "127.0.4.2", "127.0.4.3"}},
	} {
		got := LoopbackSources(tc.block, tc.held)
		want := tc.want
		if runtime.GOOS != "linux" {
			want = nil
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("LoopbackSources(%q, %d) = %v, want %v", tc.block, tc.held, got, want)
		}
	}
	if runtime.GOOS == "linux" {
		if got := LoopbackSources("127.0.0", 1000*per); len(got) != 254 || got[253].String() != "127.0.0.254" {
			t.Errorf("a huge run gets %d addresses ending %v, want 254 ending 127.0.0.254", len(got), got[len(got)-1])
		}
	}
}
