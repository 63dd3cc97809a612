#!/usr/bin/env bash
# Ramp: N sessions started at RAMP per second by one `rtbench load` against
# one `rtbench serve` on this machine (SSE, then WebSocket, 1 event/s each),
# held HOLD s once all have started, REPS times each. A stall shows as
# seconds with few sessions established and as connect (TCP) times of a
# second or more: a SYN the server's listen queue dropped is sent again
# after 1 s, then 3 s.
#
# Per run it prints the connect and handshake percentiles, the errors, the
# kernel's listen-queue counters over the run (TcpExt ListenOverflows,
# ListenDrops, TCPReqQFullDrop, SyncookiesSent from /proc/net/netstat,
# machine-wide), the serve process's CPU, and the run's per-second table
# (the result's intervals: sessions open, started and established per
# second, events per second, delivery p99 of the second). Then medians of
# the REPS runs (min–max). Target: connect p99 under 50 ms.
#
#   bash bench/scripts/ramp.sh                 # N=19000 RAMP=2000 HOLD=5 REPS=3, sse and ws
#   N=5000 REPS=1 bash bench/scripts/ramp.sh ws
#   SPREAD=0 bash bench/scripts/ramp.sh        # every tick a burst to all sessions
#
# Each run gets a fresh serve on its own port, so no run meets the last
# one's TIME_WAIT sockets. Loopback only, bounded in time (ramp + HOLD + 30 s).
# Needs about 2 files per session across the two processes (each stays
# under this machine's 20,000 per process).
set -euo pipefail
PATTERNS=${*:-"sse ws"}
N=${N:-19000}
RAMP=${RAMP:-2000}
HOLD=${HOLD:-5}
REPS=${REPS:-3}
PORT=${PORT:-18140}
# Each session's ticks on a phase of its own (serve's spread=), so the held
# sessions get N events a second evenly; SPREAD=0 puts them all on the
# server-wide phase: a fan-out burst of N events at every second.
SPREAD=${SPREAD:-1s}
source "$(dirname "$0")/lib.sh" # the repository as working directory, $tmp, cleanup on exit

build_rtbench
tck=$(getconf CLK_TCK)
netstat_counters() {
  awk '/^TcpExt:/ { if (!h) { for (i = 2; i <= NF; i++) name[i] = $i; h = 1 } else { for (i = 2; i <= NF; i++) v[name[i]] = $i } }
       END { print v["ListenOverflows"], v["ListenDrops"], v["TCPReqQFullDrop"], v["SyncookiesSent"] }' /proc/net/netstat
}

ramp_s=$(( (N + RAMP - 1) / RAMP ))
d=$(( ramp_s + HOLD ))
declare -A P99 MAX HS ERR OVF
k=0
echo "$N sessions, --ramp ${RAMP}/s, held ${HOLD}s; $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)); somaxconn $(cat /proc/sys/net/core/somaxconn), tcp_max_syn_backlog $(cat /proc/sys/net/ipv4/tcp_max_syn_backlog), syncookies $(cat /proc/sys/net/ipv4/tcp_syncookies)"
for pattern in $PATTERNS; do
  for rep in $(seq "$REPS"); do
    port=$(( PORT + k )); k=$(( k + 1 ))
    "$tmp/rtbench" serve --addr "127.0.0.1:$port" --max-conns 0 2>"$tmp/serve.log" &
    serve=$!
    for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
    case $pattern in
      sse) url="http://127.0.0.1:$port/sse?rate=1&spread=$SPREAD" ;;
      ws)  url="ws://127.0.0.1:$port/ws?rate=1&spread=$SPREAD" ;;
      *) echo "pattern: sse or ws" >&2; exit 2 ;;
    esac
    la0=$(cut -d' ' -f1 /proc/loadavg)
    read -r o0 dr0 q0 c0 < <(netstat_counters)
    s0=$(awk '{print $14 + $15}' "/proc/$serve/stat")
    rc=0
    timeout $(( d + 30 )) "$tmp/rtbench" load -c "$N" --ramp "${RAMP}/s" -d "${d}s" "$url" \
      --out "$tmp/r.json" >"$tmp/report.txt" 2>"$tmp/load.err" || rc=$?
    s1=$(awk '{print $14 + $15}' "/proc/$serve/stat")
    read -r o1 dr1 q1 c1 < <(netstat_counters)
    la1=$(cut -d' ' -f1 /proc/loadavg)
    kill -TERM "$serve"; wait "$serve" || true
    echo
    echo "== $pattern, rep $rep: $url (load exit $rc; load average $la0 → $la1)"
    echo "   kernel: ListenOverflows $(( o1 - o0 )), ListenDrops $(( dr1 - dr0 )), TCPReqQFullDrop $(( q1 - q0 )), SyncookiesSent $(( c1 - c0 )); serve CPU $(awk -v t=$(( s1 - s0 )) -v hz="$tck" 'BEGIN {printf "%.1f s", t / hz}')"
    read -r p99 mx hs99 errs < <(python3 - "$tmp/r.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
m, c = r["metrics"], r["counters"]
errs = sum(e.get("count", 0) for e in (r.get("errors") or {}).values())
con, hs = m.get("connect", {}), m.get("handshake", {})
print(f"   connect p50 {con.get('p50_ms', 0):.2f} ms, p99 {con.get('p99_ms', 0):.2f} ms, max {con.get('max_ms', 0):.1f} ms · "
      f"handshake p99 {hs.get('p99_ms', 0):.1f} ms, max {hs.get('max_ms', 0):.1f} ms · started {c['sessions_started']}, "
      f"connected {c['connects']}, events {c['events']}, errors {errs}, saturated {r['saturated']}", file=sys.stderr)
print("    t_s    open  started/s  established/s  events/s  p99 ms", file=sys.stderr)
for i in r["intervals"]:
    print(f"   {i['t_s']:4d} {i['open']:7d} {i['opened']:10d} {i['established']:14d} {i['events']:9d} {i['headline_p99_ms']:7.1f}", file=sys.stderr)
print(con.get("p99_ms", 0), con.get("max_ms", 0), hs.get("p99_ms", 0), errs)
PY
)
    P99[$pattern]+="$p99 "; MAX[$pattern]+="$mx "; HS[$pattern]+="$hs99 "; ERR[$pattern]+="$errs "; OVF[$pattern]+="$(( o1 - o0 )) "
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2; printf "%s (%s–%s)", m, v[1], v[NR]}'; }
echo
echo "medians of $REPS (min–max):"
printf '%-8s %-26s %-26s %-26s %-16s %s\n' pattern "connect p99 ms" "connect max ms" "handshake p99 ms" errors ListenOverflows
for pattern in $PATTERNS; do
  printf '%-8s %-26s %-26s %-26s %-16s %s\n' "$pattern" "$(echo "${P99[$pattern]}" | median)" "$(echo "${MAX[$pattern]}" | median)" \
    "$(echo "${HS[$pattern]}" | median)" "$(echo "${ERR[$pattern]}" | median)" "$(echo "${OVF[$pattern]}" | median)"
done
