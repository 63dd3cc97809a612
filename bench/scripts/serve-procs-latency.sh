#!/usr/bin/env bash
# Publish → delivery latency of rtbench serve with one process and with
# --procs N, side by side: SUBS SSE subscribers of one channel (spread over
# the processes by the kernel), MSGS messages published one at a time through
# /api/publish every 20 ms; per serving process, the percentiles of
# sent_ns − sched_ns that the subscribers read in each payload (the relay's
# hop included: sched_ns is taken by the parent's sequencer).
#
#   bash bench/scripts/serve-procs-latency.sh            # PROCS=2 SUBS=8 MSGS=200 REPS=2
#
# Needs python3 (Debian's). Linux only (serve --procs).
set -euo pipefail
cd "$(dirname "$0")/../.."
PROCS=${PROCS:-2} SUBS=${SUBS:-8} MSGS=${MSGS:-200} REPS=${REPS:-2}
bin=$(mktemp -d)/rtbench
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" .

measure() { # port
  python3 - "$1" "$SUBS" "$MSGS" <<'PY'
import http.client, json, sys, threading, time
port, subs, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
res, lock = {}, threading.Lock()
def sub():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("GET", "/sse?channel=lat&retry=0")
    r = c.getresponse()
    p = r.getheader("X-RTBench-Process", "-")
    got = []
    while len(got) < n:
        line = r.fp.readline().decode()
        if line.startswith("data:"):
            d = json.loads(line[5:])
            got.append((d["sent_ns"] - d["sched_ns"]) / 1000)
    with lock:
        res.setdefault(p, []).extend(got)
ts = [threading.Thread(target=sub) for _ in range(subs)]
[t.start() for t in ts]
time.sleep(1)
for k in range(n):
    c = http.client.HTTPConnection("127.0.0.1", port)
    c.request("POST", "/api/publish", json.dumps({"channel": "lat", "data": k}), {"Content-Type": "application/json"})
    c.getresponse().read()
    c.close()
    time.sleep(0.02)
[t.join() for t in ts]
for p, v in sorted(res.items()):
    v.sort()
    q = lambda f: v[min(int(len(v) * f), len(v) - 1)]
    print(f"  process {p}: {len(v)} deliveries, p50 {q(.5):.0f} µs, p90 {q(.9):.0f} µs, p99 {q(.99):.0f} µs")
PY
}

for rep in $(seq "$REPS"); do
  for procs in 1 "$PROCS"; do
    log=$(mktemp)
    "$bin" serve --procs "$procs" --addr 127.0.0.1:0 2>"$log" &
    pid=$!
    for _ in $(seq 100); do grep -q 'listening on' "$log" && break; sleep 0.1; done
    port=$(grep -o '127\.0\.0\.1:[0-9]*' "$log" | head -1 | cut -d: -f2)
    echo "rep $rep, --procs $procs, load average $(cut -d' ' -f1 /proc/loadavg):"
    measure "$port"
    kill -TERM "$pid"
    wait "$pid"
    rm -f "$log"
  done
done
