#!/usr/bin/env bash
# One box, many processes: N sessions of one pattern held by `rtbench load
# --procs P` against `rtbench serve --procs P` on this machine, for HOLD
# seconds once all have started. One process may open 20,000 files here, so
# 100,000 sessions need several processes on each side; the load agents
# connect from their own loopback addresses (127.0.i+1.x), so no source
# address runs out of ports.
#
# Prints the merged report's head, the sessions the agents meant and the
# connections the serving processes saw (their /metrics, summed over the
# processes: each scrape lands on one of them, so it asks until every
# process answered), the error count, and the summed peak RSS of each side.
#
#   N=100000 P=6 bash bench/scripts/procs-scale.sh sse
#   N=100000 P=6 bash bench/scripts/procs-scale.sh ws
#   N=4000 P=2 HOLD=10 bash bench/scripts/procs-scale.sh sse     # a quick try
#   SPREAD=0 N=100000 P=6 bash bench/scripts/procs-scale.sh sse   # one phase: bursts
#
# It also prints the CPU seconds each side used while the sessions were held
# (from ramp end + 5 s to the hold's end − 5 s, /proc/PID/stat of every
# process of the side), per session-second, the errors by class, and the
# load average before and after.
#
# NICE=-10 runs both sides at that priority (root only for a negative
# value), so compilers and tests of others sharing the machine take the CPU
# only when rtbench leaves it.
#
# Loopback only, bounded in time (ramp + HOLD + GRACE, default 120 s: closing
# 100,000 sessions and merging six agents' results takes tens of seconds on
# a saturated 2-core machine).
set -euo pipefail
pattern=${1:-sse}
N=${N:-100000}
P=${P:-6}
HOLD=${HOLD:-60}
RAMP=${RAMP:-1000}      # sessions per second, all agents together
EVERY=${EVERY:-0.05}    # events per second per session (rate=)
# spread= (serve): each connection's ticks on a phase of its own, so the
# sessions get EVERY × N events a second evenly rather than N at once every
# 1/EVERY s; SPREAD=0 puts every session on the server-wide phase (a fan-out
# burst of N events, which stalls this 2-core box for seconds).
SPREAD=${SPREAD:-$(awk -v e="$EVERY" 'BEGIN { printf "%gs", 1 / e }')}
HEARTBEAT=${HEARTBEAT:-30s} # serve's SSE comment interval
PORT=${PORT:-18120}
NICE=${NICE:-0}
source "$(dirname "$0")/lib.sh" # the repository as working directory, $tmp, cleanup on exit

build_rtbench
echo "load average before: $(cat /proc/loadavg)"
nice -n "$NICE" "$tmp/rtbench" serve --procs "$P" --addr "127.0.0.1:$PORT" --heartbeat "$HEARTBEAT" 2>"$tmp/serve.log" &
serve=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

case $pattern in
  sse) url="http://127.0.0.1:$PORT/sse?rate=$EVERY&spread=$SPREAD" ;;
  ws)  url="ws://127.0.0.1:$PORT/ws?rate=$EVERY&spread=$SPREAD" ;;
  *) echo "pattern: sse or ws" >&2; exit 2 ;;
esac

# The summed peak RSS (VmHWM, KiB) and CPU time (utime+stime, clock ticks)
# of each given process and its descendants: "hwm cpu" per process given.
side_stats() {
  python3 - "$@" <<'PY'
import os, sys
kids = {}
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            st = open(f"/proc/{d}/stat").read()
        except OSError:
            continue
        f = st[st.rindex(")") + 2:].split()
        kids.setdefault(f[1], []).append((d, int(f[11]) + int(f[12])))
def walk(pid, cpu0):
    hwm, cpu, todo = 0, 0, [(pid, cpu0)]
    while todo:
        p, c = todo.pop()
        cpu += c
        try:
            for line in open(f"/proc/{p}/status"):
                if line.startswith("VmHWM"):
                    hwm += int(line.split()[1])
        except OSError:
            pass
        todo += kids.get(p, [])
    return hwm, cpu
out = []
for pid in sys.argv[1:]:
    try:
        st = open(f"/proc/{pid}/stat").read()
        f = st[st.rindex(")") + 2:].split()
        out += walk(pid, int(f[11]) + int(f[12]))
    except OSError:
        out += (0, 0)
print(*out)
PY
}

ramp_s=$(( (N + RAMP - 1) / RAMP ))
d=$(( ramp_s + HOLD ))
echo "rtbench load --procs $P -c $N --ramp ${RAMP}/s -d ${d}s $url  (serve --procs $P)"
nice -n "$NICE" timeout $(( d + ${GRACE:-120} )) "$tmp/rtbench" load --procs "$P" -c "$N" --ramp "${RAMP}/s" -d "${d}s" "$url" \
  --out "$tmp/result.json" >"$tmp/report.txt" 2>"$tmp/load.log" &
load=$!
t_start=$(date +%s)
hold_from=$(( t_start + 3 + ramp_s + 5 )) hold_to=$(( t_start + 3 + d - 5 ))
peak_load=0 peak_serve=0
while kill -0 "$load" 2>/dev/null; do
  read -r lh lc sh sc <<<"$(side_stats "$load" "$serve")"
  peak_load=$(( lh > peak_load ? lh : peak_load ))
  peak_serve=$(( sh > peak_serve ? sh : peak_serve ))
  echo "$(date +%s) $lc $sc" >>"$tmp/cpu.log"
  sleep 2
done
rc=0; wait "$load" || rc=$?
echo "load average after: $(cat /proc/loadavg)"
python3 - "$tmp/cpu.log" "$t_start" "$hold_from" "$hold_to" "$(getconf CLK_TCK)" "$N" <<'PY'
import sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1]) if len(l.split()) == 3]
t0, hf, ht, hz, n = map(float, sys.argv[2:])
def span(name, rs, per_session):
    if len(rs) < 2 or rs[-1][0] <= rs[0][0]:
        print(f"{name}: too few samples")
        return
    # An agent that exited takes its CPU time out of the sums: take the
    # highest each side reached.
    w = rs[-1][0] - rs[0][0]
    lc, sc = (max(r[1] for r in rs) - rs[0][1]) / hz, (max(r[2] for r in rs) - rs[0][2]) / hz
    line = f"{name} {int(w)} s: load {lc:.0f} CPU-s ({lc / w:.2f} cores), serve {sc:.0f} CPU-s ({sc / w:.2f} cores)"
    if per_session:
        line += f" · {lc / w / n * 1e6:.1f} + {sc / w / n * 1e6:.1f} µs CPU per session-second"
    print(line)
span("whole run", rows, False)
span("held", [r for r in rows if hf <= r[0] <= ht], True)
PY

# What the serving processes saw: each scrape lands on one process (the
# kernel picks by the connection's addresses), so scrape until every one of
# the P answered, keyed by its X-RTBench-Process header.
python3 - "$PORT" "$P" <<'PY'
import http.client, sys
port, procs = int(sys.argv[1]), int(sys.argv[2])
seen = {}
for _ in range(200 * procs):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", "/metrics")
    r = c.getresponse()
    body = r.read().decode()
    seen[r.getheader("X-RTBench-Process", "-")] = body
    c.close()
    if len(seen) == procs:
        break
acc = 0
for body in seen.values():
    for line in body.splitlines():
        if line.startswith("rtbench_serve_connections_accepted_total"):
            acc += float(line.split()[-1])
print(f"serve: {len(seen)} of {procs} processes scraped · connections accepted {int(acc)} (the scrapes' own included)")
PY

sed -n 1,12p "$tmp/report.txt"
if [[ ! -s $tmp/result.json ]]; then
  echo "no result: load exit $rc (124: killed at ramp + HOLD + GRACE); the end of its log:"
  tail -n 15 "$tmp/load.log"
  exit 1
fi
python3 - "$tmp/result.json" "$N" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); n = int(sys.argv[2])
c = r.get("counters", {})
errs = sum(e.get("count", 0) for e in (r.get("errors") or {}).values())
print(f"sessions meant {n} · started {c.get('sessions_started')} · connected {c.get('connects')} · "
      f"reconnects {c.get('reconnects')} · events {c.get('events')} · lost {c.get('lost')} · errors {errs}")
for cls, e in sorted((r.get("errors") or {}).items()):
    print(f"  error {cls}: {e.get('count')} ({e.get('example', '')[:120]})")
PY
echo "peak RSS: load (all agents) $(( peak_load / 1024 )) MiB · serve (all processes) $(( peak_serve / 1024 )) MiB · $(( peak_load / N )) KiB per session on the load side"
echo "load exit $rc"
# KEEP=DIR keeps the merged result, the report and both sides' logs.
if [[ -n ${KEEP:-} ]]; then
  mkdir -p "$KEEP" && cp "$tmp/result.json" "$tmp/report.txt" "$tmp/load.log" "$tmp/serve.log" "$KEEP/"
fi
