#!/usr/bin/env bash
# Fan-out of `rtbench serve`: N subscribers of one channel
# (/sse?channel=fan or /ws?channel=fan) held by `rtbench load --procs P`
# against `rtbench serve --procs P` (one process may open 20,000 files here,
# so 20,000 subscribers need two processes on each side; the load agents
# connect from their own loopback addresses, 127.0.i+1.x, so no source
# address runs out of ports). Once every subscriber has connected, a
# publisher POSTs MSGS messages to /api/publish, one every 1/PUBRATE s, over
# one keep-alive connection; every message goes to all N subscribers.
#
# Per run it prints publish → delivery latency (arrival − the hub's sched_ns
# stamp, taken when the publish is accepted; the relay's hop between serve
# processes included), percentiles over every delivery (the channel carries
# nothing before the publisher starts), the
# deliveries against N × MSGS, lost and errors, and the CPU per delivery of
# both sides (user+system of every process of each side from /proc, over
# the publishing phase). Then medians of the REPS runs (min–max).
#
#   bash bench/scripts/serve-fanout.sh          # sse, N=20000 P=2 MSGS=20 PUBRATE=1 REPS=3
#   N=2000 MSGS=5 REPS=1 bash bench/scripts/serve-fanout.sh ws
#
# Loopback only, bounded in time (ramp + MSGS/PUBRATE + 10 s per run).
set -euo pipefail
pattern=${1:-sse}
N=${N:-20000}
P=${P:-2}
RAMP=${RAMP:-2000}
MSGS=${MSGS:-20}
PUBRATE=${PUBRATE:-1}
REPS=${REPS:-3}
PORT=${PORT:-18160}
source "$(dirname "$0")/lib.sh" # the repository as working directory, $tmp, cleanup on exit

build_rtbench
tck=$(getconf CLK_TCK)
tree() { echo "$1"; for c in $(pgrep -P "$1" || true); do tree "$c"; done; }
tree_ticks() { local t=0 v; for p in $(tree "$1"); do v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0); t=$(( t + v )); done; echo "$t"; }

ramp_s=$(( (N + RAMP - 1) / RAMP ))
W=$(( ramp_s + 6 ))   # publishing starts after load --procs' 3 s lead, the ramp and 3 s more
pub_s=$(awk -v m="$MSGS" -v r="$PUBRATE" 'BEGIN {printf "%d", m / r + 0.999}')
D=$(( W + 3 * pub_s + 15 ))   # slack: each publish answers only after its sequencer round trip, seconds on a starved box

declare -A F
echo "$pattern fan-out: $N subscribers of one channel (load --procs $P, serve --procs $P), ramp ${RAMP}/s, $MSGS messages at ${PUBRATE}/s; $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo))"
for rep in $(seq "$REPS"); do
  port=$(( PORT + rep ))
  "$tmp/rtbench" serve --procs "$P" --addr "127.0.0.1:$port" --max-conns 0 2>"$tmp/serve.log" &
  serve=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  case $pattern in
    sse) url="http://127.0.0.1:$port/sse?channel=fan" ;;
    ws)  url="ws://127.0.0.1:$port/ws?channel=fan" ;;
    *) echo "pattern: sse or ws" >&2; exit 2 ;;
  esac
  la0=$(cut -d' ' -f1 /proc/loadavg)
  "$tmp/rtbench" load --procs "$P" -c "$N" --ramp "${RAMP}/s" -d "${D}s" "$url" \
    --out "$tmp/r.json" >/dev/null 2>"$tmp/load.err" &
  lp=$!
  sleep "$W"
  agents0=$(tree "$lp" | tr '\n' ' ')
  s0=$(tree_ticks "$serve"); c0=$(tree_ticks "$lp")
  read -r post50 postmax < <(python3 - "$port" "$MSGS" "$PUBRATE" <<'PY'
import http.client, json, sys, time
port, n, rate = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
t0, lat = time.monotonic(), []
for k in range(n):
    time.sleep(max(0, t0 + k / rate - time.monotonic()))
    t = time.monotonic()
    c.request("POST", "/api/publish", json.dumps({"channel": "fan", "data": {"k": k}}), {"Content-Type": "application/json"})
    r = c.getresponse(); r.read()
    if r.status // 100 != 2:
        sys.exit(f"publish {k}: HTTP {r.status}")
    lat.append((time.monotonic() - t) * 1000)
lat.sort()
print(f"{lat[len(lat) // 2]:.1f} {lat[-1]:.1f}")
PY
)
  sleep 2
  s1=$(tree_ticks "$serve"); c1=$(tree_ticks "$lp")
  if [ "$(tree "$lp" | tr '\n' ' ')" != "$agents0" ]; then c1=$c0; echo "(the load's processes changed during the publishing phase: its CPU is not reported)"; fi
  rc=0; wait "$lp" || rc=$?
  la1=$(cut -d' ' -f1 /proc/loadavg)
  kill -TERM "$serve"; wait "$serve" || true
  read -r p50 p99 mx ev lost errs srv cli line < <(python3 - "$tmp/r.json" $(( s1 - s0 )) $(( c1 - c0 )) "$tck" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); srv, cli, hz = map(int, sys.argv[2:5])
c, d = r["counters"], r["metrics"].get("delivery", {})
ev = d.get("count", 0) or 1
errs = sum(e.get("count", 0) for e in (r.get("errors") or {}).values())
print(f"{d.get('p50_ms', 0):.1f} {d.get('p99_ms', 0):.1f} {d.get('max_ms', 0):.1f} {d.get('count', 0)} {c['lost']} {errs} "
      f"{srv / hz * 1e6 / ev:.2f} {cli / hz * 1e6 / ev:.2f} connected={c['connects']},started={c['sessions_started']},saturated={r['saturated']}")
PY
)
  echo "rep $rep (load exit $rc; load average $la0 → $la1): delivery p50 $p50 p99 $p99 max $mx ms · $ev of $(( N * MSGS )) deliveries · lost $lost · errors $errs · µs CPU/delivery serve $srv load $cli · POST /api/publish p50 $post50 max $postmax ms · $line"
  F[p50]+="$p50 "; F[p99]+="$p99 "; F[max]+="$mx "; F[ev]+="$ev "; F[srv]+="$srv "; F[cli]+="$cli "; F[errs]+="$errs "
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2; printf "%s (%s–%s)", m, v[1], v[NR]}'; }
echo "medians of $REPS (min–max):"
for k in p50 p99 max ev srv cli errs; do printf '  %-5s %s\n' "$k" "$(echo "${F[$k]}" | median)"; done
echo "  (publish → delivery ms; ev: deliveries counted; srv/cli: µs of CPU per delivery)"
