#!/usr/bin/env bash
# Keep-alive polling, side by side: rtbench load (closed loop, --interval 0),
# wrk, hey, vegeta, k6 and autocannon against the same rtbench serve route,
# at each connection count, REPS times in turn (the tools alternate inside
# each repetition, so a busy machine slows them alike). bench/peers.sh
# installs the peers (never committed); a peer that does not install is
# left out.
#
# Per tool and connection count it prints medians (and min–max) of:
#   req/s         requests completed per second (each tool's own count)
#   µs CPU/req    the tool's user+system CPU (from /proc, the children's
#                 cutime+cstime of a wrapper shell) per request
#   MiB RSS       the tool's peak RSS (VmHWM in /proc/PID/status, sampled
#                 every 0.2 s until it exits)
#   conns         TCP connections the target accepted during the run
#                 (rtbench serve's rtbench_serve_connections_accepted_total;
#                 rtbench's includes its one probe request's connection)
# and each tool's req/s and CPU per request as ratios of wrk's in the same
# repetition.
#
#   CONNS="50 500" D=5 REPS=3 bash bench/scripts/poll-peers.sh
#   TOOLS="wrk rtbench" D=5 REPS=3 bash bench/scripts/poll-peers.sh
set -euo pipefail
CONNS=${CONNS:-"50 500"}
D=${D:-10}
REPS=${REPS:-3}
PORT=${PORT:-18097}
ROUTE=${ROUTE:-/healthz} # JSON, no ETag: every tool gets the same 200 and bytes
TOOLS=${TOOLS:-"wrk hey vegeta k6 autocannon rtbench"}
source "$(dirname "$0")/lib.sh" # the repository as working directory, $tmp, cleanup on exit

# shellcheck source=../peers.sh
. bench/peers.sh $(echo "$TOOLS" | tr ' ' '\n' | grep -v '^rtbench$' | tr '\n' ' ')
have=()
for t in $TOOLS; do
  if [ "$t" = rtbench ] || command -v "$t" >/dev/null; then have+=("$t"); fi
done

build_rtbench
ulimit -n 65536 2>/dev/null || true
"$tmp/rtbench" serve --addr "127.0.0.1:$PORT" 2>/dev/null &
serve_pid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
url="http://127.0.0.1:$PORT$ROUTE"
tck=$(getconf CLK_TCK)

accepted() { curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^rtbench_serve_connections_accepted_total/ {print $2}'; }
proc_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# measure NAME CMD...: runs CMD through a shell that samples its peak RSS
# and prints its children's CPU ticks afterwards; sets out (the tool's
# stdout), cpu_s, rss_mib and conns.
measure() {
  local name=$1; shift
  local a0 a1 r
  a0=$(accepted)
  OUT="$tmp/$name.out" bash -c '"$@" >"$OUT" 2>"$OUT.err" & p=$!; hwm=0
    while :; do # builtins: a fork would count as CPU of the tool
      st=""
      while read -r k v _; do case $k in State:) st=$v ;; VmHWM:) hwm=$v ;; esac; done 2>/dev/null </proc/$p/status || break
      if [ -z "$st" ] || [ "$st" = Z ]; then break; fi
      sleep 0.2
    done
    wait $p || true
    s=$(cat /proc/$$/stat); set -- ${s#*) }; echo $(( ${14} + ${15} )) $hwm' sh "$@" \
    >"$tmp/ticks" </dev/null
  a1=$(accepted)
  conns=$(( a1 - a0 - 1 )) # the second /metrics fetch's own connection
  read -r r rss_kib <"$tmp/ticks"
  cpu_s=$(awk -v t="$r" -v hz="$tck" 'BEGIN {printf "%.3f", t / hz}')
  rss_mib=$(awk -v k="$rss_kib" 'BEGIN {printf "%.1f", k / 1024}')
  out="$tmp/$name.out"
}

cat >"$tmp/k6.js" <<'JS'
import http from 'k6/http';
export const options = { discardResponseBodies: true, scenarios: { poll: { executor: 'constant-vus', vus: parseInt(__ENV.C), duration: __ENV.D + 's', gracefulStop: '2s' } } };
export default function () { http.get(__ENV.URL); }
JS

# run TOOL C: one run of TOOL at C connections; sets n (requests) and s
# (the run's seconds), plus what measure sets.
run() {
  local tool=$1 c=$2
  case $tool in
    wrk)
      measure wrk wrk -t 2 -c "$c" -d "${D}s" "$url"
      n=$(awk '/requests in/ {print $1}' "$out"); s=$(awk '/requests in/ {sub(/s,$/, "", $4); print $4}' "$out") ;;
    hey)
      measure hey hey -z "${D}s" -c "$c" "$url"
      n=$(awk '/\[200\]/ {print $2}' "$out"); s=$(awk '/Total:/ {print $2}' "$out") ;;
    vegeta)
      echo "GET $url" >"$tmp/targets"
      measure vegeta vegeta attack -targets="$tmp/targets" -rate=0 -max-workers="$c" -workers="$c" -duration="${D}s" -output="$tmp/vegeta.bin"
      vegeta report -type=json "$tmp/vegeta.bin" >"$tmp/vegeta.json"
      read -r n s < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["requests"], r["duration"]/1e9)' "$tmp/vegeta.json") ;;
    k6)
      measure k6 env C="$c" D="$D" URL="$url" K6_NO_USAGE_REPORT=true k6 run -q --summary-export "$tmp/k6.json" "$tmp/k6.js"
      read -r n s < <(python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["metrics"]["http_reqs"]; print(m["count"], m["count"]/m["rate"])' "$tmp/k6.json") ;;
    autocannon)
      measure autocannon autocannon -c "$c" -d "$D" -j "$url"
      read -r n s < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["2xx"], r["duration"])' "$out") ;;
    rtbench)
      measure rtbench "$tmp/rtbench" load -c "$c" -d "${D}s" --interval 0 --json "$url"
      read -r n s < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["counters"]["requests"], r["duration_s"])' "$out") ;;
  esac
}

declare -A RPS CPU CON RATIO CPUR RSS
for c in $CONNS; do
  for rep in $(seq "$REPS"); do
    wrk_rps="" wrk_cpu=""
    for tool in "${have[@]}"; do
      run "$tool" "$c"
      rps=$(awk -v n="$n" -v s="$s" 'BEGIN {printf "%.1f", n / s}')
      cpu=$(awk -v c="$cpu_s" -v n="$n" 'BEGIN {printf "%.2f", c * 1e6 / n}')
      if [ "$tool" = wrk ]; then wrk_rps=$rps wrk_cpu=$cpu; fi
      RPS[$tool,$c]+="$rps "; CPU[$tool,$c]+="$cpu "; CON[$tool,$c]+="$conns "; RSS[$tool,$c]+="$rss_mib "
      if [ -n "$wrk_rps" ]; then
        RATIO[$tool,$c]+="$(awk -v a="$rps" -v b="$wrk_rps" 'BEGIN {printf "%.2f", a / b}') "
        CPUR[$tool,$c]+="$(awk -v a="$cpu" -v b="$wrk_cpu" 'BEGIN {printf "%.2f", a / b}') "
      fi
    done
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2; printf "%s (%s–%s)", m, v[1], v[NR]}'; }
echo "keep-alive polling of $url, ${D}s per run, medians of $REPS (min–max); $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "server CPU over the whole script: $(awk -v t="$(proc_ticks $serve_pid)" -v hz="$tck" 'BEGIN {printf "%.1f s", t / hz}')"
printf '%-10s %5s  %-24s %-20s %-19s %-16s %-17s %s\n' tool conns "req/s" "µs CPU/req" "MiB RSS" "conns opened" "req/s ÷ wrk" "CPU/req ÷ wrk"
for c in $CONNS; do
  for tool in "${have[@]}"; do
    printf '%-10s %5s  %-24s %-20s %-19s %-16s %-17s %s\n' "$tool" "$c" \
      "$(echo "${RPS[$tool,$c]}" | median)" "$(echo "${CPU[$tool,$c]}" | median)" "$(echo "${RSS[$tool,$c]}" | median)" \
      "$(echo "${CON[$tool,$c]}" | median)" "$(echo "${RATIO[$tool,$c]:-}" | median)" "$(echo "${CPUR[$tool,$c]:-}" | median)"
  done
done
