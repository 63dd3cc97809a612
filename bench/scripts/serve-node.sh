#!/usr/bin/env bash
# The mock server beside the Node.js SSE server the Next.js tutorial writes:
# `rtbench serve`'s GET /api/stream and testdata/nodesse/server.js (a
# ReadableStream per connection fed by setInterval, on plain node:http, no
# npm dependency) send the same events ("data: connected", then
# {"time","value"} every ?interval=). The same client, `rtbench load`, holds
# the same N sessions against each in turn, at each rate, REPS times (the
# servers alternate inside each repetition, so a busy machine slows them
# alike).
#
# Per server, session count and rate it prints medians (and min–max) of:
#   sessions       sessions connected (the client's connects)
#   offered/s      sessions connected × the per-session rate
#   events/s       events the client received per second in the window
#                  (the load's per-second intervals, after the ramp and WARM s)
#   µs CPU/ev srv  the server's user+system CPU (/proc/PID/stat) in the window
#                  per delivered event
#   µs CPU/ev cli  the same for the client
#   p99 ms         delivery p99 after the warmup (arrival − the event's "time",
#                  a millisecond stamp on both servers)
#   MiB RSS srv    the server's RSS at the end of the window
# and rtbench's events/s and CPU per event as ratios of Node's in the same
# repetition. A server saturates where events/s falls below offered/s.
#
#   bash bench/scripts/serve-node.sh                      # N=1000, RATES="10 50 100", REPS=3
#   N=2000 RATES="20" WINDOW=10 REPS=3 bash bench/scripts/serve-node.sh
#
# Loopback only, bounded in time (each run lasts ramp + WARM + WINDOW + 1 s).
set -euo pipefail
N=${N:-1000}
RATES=${RATES:-"10 50 100"}    # events per second per session
REPS=${REPS:-3}
RAMP=${RAMP:-250}              # sessions started per second
WARM=${WARM:-3}                # seconds after the ramp before the window
WINDOW=${WINDOW:-8}            # seconds measured
PORT=${PORT:-18130}
NODE_PORT=${NODE_PORT:-18131}
source "$(dirname "$0")/lib.sh" # the repository as working directory, $tmp, cleanup on exit

build_rtbench
"$tmp/rtbench" serve --addr "127.0.0.1:$PORT" --max-conns 0 2>"$tmp/serve.log" &
serve_pid=$!
sleep 100000 | PORT=$NODE_PORT node testdata/nodesse/server.js >"$tmp/node.out" 2>&1 &
node_pid=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && grep -q '"port"' "$tmp/node.out" && break
  sleep 0.1
done
tck=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

ramp_s=$(( (N + RAMP - 1) / RAMP ))
W=$(( ramp_s + WARM ))
D=$(( W + WINDOW + 1 ))

# run SERVER RATE: one run; sets the figures of the window.
run() {
  local server=$1 rate=$2 port pid url iv
  iv=$(awk -v r="$rate" 'BEGIN {printf "%gms", 1000 / r}')
  case $server in
    rtbench) port=$PORT pid=$serve_pid ;;
    node)    port=$NODE_PORT pid=$node_pid ;;
  esac
  url="http://127.0.0.1:$port/api/stream?interval=$iv"
  "$tmp/rtbench" load -c "$N" --ramp "${RAMP}/s" -d "${D}s" --warmup "${W}s" "$url" \
    --out "$tmp/r.json" >/dev/null 2>"$tmp/load.err" &
  local lp=$! s0 s1 c0 c1
  sleep "$W"
  s0=$(ticks "$pid"); c0=$(ticks "$lp")
  sleep "$WINDOW"
  s1=$(ticks "$pid"); c1=$(ticks "$lp"); rss=$(rss_kib "$pid")
  wait "$lp" || true
  read -r sessions events p99 < <(python3 - "$tmp/r.json" "$W" "$WINDOW" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); w, n = int(sys.argv[2]), int(sys.argv[3])
ev = sum(i["events"] for i in r["intervals"] if w <= i["t_s"] < w + n)
d = r["metrics"].get("delivery", {})
print(r["counters"]["connects"], ev, d.get("p99_ms", 0))
PY
)
  evs=$(awk -v e="$events" -v n="$WINDOW" 'BEGIN {printf "%.0f", e / n}')
  offered=$(( sessions * rate ))
  srv=$(awk -v t=$(( s1 - s0 )) -v hz="$tck" -v e="$events" 'BEGIN {printf "%.2f", e ? t / hz * 1e6 / e : 0}')
  cli=$(awk -v t=$(( c1 - c0 )) -v hz="$tck" -v e="$events" 'BEGIN {printf "%.2f", e ? t / hz * 1e6 / e : 0}')
  rss_mib=$(awk -v k="$rss" 'BEGIN {printf "%.1f", k / 1024}')
}

declare -A SES OFF EVS SRV CLI P99 RSS RATIO CPUR
for rate in $RATES; do
  for _ in $(seq "$REPS"); do
    for server in node rtbench; do
      run "$server" "$rate"
      SES[$server,$rate]+="$sessions "; OFF[$server,$rate]+="$offered "; EVS[$server,$rate]+="$evs "
      SRV[$server,$rate]+="$srv "; CLI[$server,$rate]+="$cli "; P99[$server,$rate]+="$p99 "; RSS[$server,$rate]+="$rss_mib "
      if [ "$server" = node ]; then node_evs=$evs node_srv=$srv; else
        RATIO[$rate]+="$(awk -v a="$evs" -v b="$node_evs" 'BEGIN {printf "%.2f", b ? a / b : 0}') "
        CPUR[$rate]+="$(awk -v a="$srv" -v b="$node_srv" 'BEGIN {printf "%.3f", b ? a / b : 0}') "
      fi
    done
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2; printf "%s (%s–%s)", m, v[1], v[NR]}'; }
echo "GET /api/stream, $N sessions (ramp ${RAMP}/s, window ${WINDOW}s after ${W}s), medians of $REPS (min–max); $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), node $(node --version), load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %6s  %-20s %-24s %-24s %-20s %-20s %-22s %s\n' server ev/s/s sessions "offered/s" "events/s" "µs CPU/ev srv" "µs CPU/ev cli" "p99 ms" "MiB RSS srv"
for rate in $RATES; do
  for server in node rtbench; do
    printf '%-8s %6s  %-20s %-24s %-24s %-20s %-20s %-22s %s\n' "$server" "$rate" \
      "$(echo "${SES[$server,$rate]}" | median)" "$(echo "${OFF[$server,$rate]}" | median)" "$(echo "${EVS[$server,$rate]}" | median)" \
      "$(echo "${SRV[$server,$rate]}" | median)" "$(echo "${CLI[$server,$rate]}" | median)" "$(echo "${P99[$server,$rate]}" | median)" \
      "$(echo "${RSS[$server,$rate]}" | median)"
  done
  echo "  rate $rate/s: rtbench ÷ node events/s $(echo "${RATIO[$rate]}" | median), server CPU per event $(echo "${CPUR[$rate]}" | median)"
done
