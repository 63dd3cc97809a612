#!/usr/bin/env bash
# The connect() cliff: N blocking connects from one loopback source address
# (bound with IP_BIND_ADDRESS_NO_PORT, as rtbench binds --source-ips) to one
# listener, the wall and CPU time per connect() for each thousand. Linux
# takes a free port among the even ports of ip_local_port_range first;
# once they are all in use, every connect scans them before it tries an odd
# one. rtbench keeps bench.SessionsPerSource (four fifths of the even half)
# per source address for that reason.
#
#   bash bench/scripts/connect-cliff.sh            # N=19000 from 127.0.9.1
#   N=27000 SRC=127.0.9.2 bash bench/scripts/connect-cliff.sh
#
# Loopback only; the listener runs in its own process (files: N each side,
# under this machine's 20,000 per process) and is killed at the end.
set -euo pipefail
N=${N:-19000}
SRC=${SRC:-127.0.9.1}
PORT=${PORT:-18310}
echo "ip_local_port_range: $(cat /proc/sys/net/ipv4/ip_local_port_range) · kernel $(uname -r)"
exec python3 - "$N" "$SRC" "$PORT" <<'PY'
import socket, subprocess, sys, time
n, src, port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
srv = subprocess.Popen([sys.executable, "-c", f"""
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", {port})); s.listen(4096)
print("ready", flush=True)
held = []
while True:
    held.append(s.accept()[0])
"""], stdout=subprocess.PIPE, text=True)
try:
    assert srv.stdout.readline().strip() == "ready"
    IP_BIND_ADDRESS_NO_PORT = 24
    held = []
    t, c = time.perf_counter(), time.process_time()
    print(f"{'connections':>11} {'wall µs/connect':>16} {'CPU µs/connect':>15}")
    for i in range(n):
        s = socket.socket()
        s.setsockopt(socket.SOL_IP, IP_BIND_ADDRESS_NO_PORT, 1)
        s.bind((src, 0))
        s.connect(("127.0.0.1", port))
        held.append(s)
        if (i + 1) % 1000 == 0:
            t1, c1 = time.perf_counter(), time.process_time()
            print(f"{i + 1:>11,} {1e3 * (t1 - t):>16.1f} {1e3 * (c1 - c):>15.1f}", flush=True)
            t, c = t1, c1
finally:
    srv.kill()
PY
