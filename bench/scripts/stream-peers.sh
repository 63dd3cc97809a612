#!/usr/bin/env bash
# Stream clients side by side: CPU and memory per delivered message of
# `rtbench load` holding SSE and WebSocket sessions, against the floor reader
# (bench/floor: the same connections read into a buffer and counted,
# nothing parsed) and k6 (WebSocket only: k6 has no SSE client), all on the
# same `rtbench serve` endpoint, REPS times in turn (the tools alternate
# inside each repetition, so a busy machine slows them alike). bench/peers.sh
# installs k6 (never committed); without it the k6 rows are left out.
#
# Per pattern, load (SESSIONSxRATE) and tool it prints medians (and min–max) of:
#   msgs/s        messages the tool counted per second of its run
#   µs CPU/msg    the tool's user+system CPU (utime+stime from /proc: the
#                 children's cutime+cstime of a wrapper shell) per message
#   MiB RSS       the tool's peak RSS (VmHWM in /proc/PID/status, sampled
#                 every 0.2 s until it exits)
#   KiB/session   its RSS at the run's last sample divided by the sessions
# and rtbench's CPU per message as ratios of the floor's and of k6's in the
# same repetition (the issue's targets: ≤ 1.5× the floor, ≤ 0.25× k6).
#
#   REPS=3 D=20 bash bench/scripts/stream-peers.sh
#   PATTERNS=ws LOADS="100x1000" REPS=3 bash bench/scripts/stream-peers.sh
set -euo pipefail
PATTERNS=${PATTERNS:-"sse ws"}
LOADS=${LOADS:-"5000x10 100x1000"}
D=${D:-20}         # seconds per run, ramp included
RAMP=${RAMP:-1000} # sessions opened per second
REPS=${REPS:-3}
PORT=${PORT:-18096}
TOOLS=${TOOLS:-"floor rtbench k6"}
source "$(dirname "$0")/lib.sh" # the repository as working directory, $tmp, cleanup on exit

case " $TOOLS " in *" k6 "*)
  # shellcheck source=../peers.sh
  . bench/peers.sh k6 ;;
esac
build_rtbench
go build -o "$tmp/floor" ./bench/floor
ulimit -n 65536 2>/dev/null || true
"$tmp/rtbench" serve --addr "127.0.0.1:$PORT" --max-conns 0 --heartbeat 15s 2>/dev/null &
serve_pid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
tck=$(getconf CLK_TCK)
load0=$(cut -d' ' -f1-3 /proc/loadavg)

# measure NAME CMD...: runs CMD through a shell that samples its RSS and
# prints its children's CPU ticks afterwards; sets out (the tool's stdout),
# cpu_s, rss_mib (peak) and last_kib (the last sample).
measure() {
  local name=$1; shift
  local r
  OUT="$tmp/$name.out" bash -c '"$@" >"$OUT" 2>"$OUT.err" & p=$!; hwm=0; rss=0
    while :; do # builtins: a fork would count as CPU of the tool
      st=""
      while read -r k v _; do case $k in State:) st=$v ;; VmHWM:) hwm=$v ;; VmRSS:) rss=$v ;; esac; done 2>/dev/null </proc/$p/status || break
      if [ -z "$st" ] || [ "$st" = Z ]; then break; fi
      sleep 0.2
    done
    wait $p || true
    s=$(cat /proc/$$/stat); set -- ${s#*) }; echo $(( ${14} + ${15} )) $hwm $rss' sh "$@" \
    >"$tmp/ticks" </dev/null
  read -r r rss_kib last_kib <"$tmp/ticks"
  cpu_s=$(awk -v t="$r" -v hz="$tck" 'BEGIN {printf "%.3f", t / hz}')
  rss_mib=$(awk -v k="$rss_kib" 'BEGIN {printf "%.1f", k / 1024}')
  out="$tmp/$name.out"
}

cat >"$tmp/k6.js" <<'JS'
import ws from 'k6/ws';
const d = parseInt(__ENV.D);
export const options = { scenarios: { hold: { executor: 'constant-vus', vus: parseInt(__ENV.N), duration: d + 's', gracefulStop: '2s' } } };
export default function () {
  ws.connect(__ENV.URL, {}, function (socket) {
    socket.on('message', () => {});
    socket.setTimeout(() => socket.close(), (d + 5) * 1000);
  });
}
JS

# run TOOL PATTERN SESSIONS RATE: one run; sets n (messages), s (seconds),
# errs, plus what measure sets. The tool is skipped (n empty) where it has
# no client for the pattern.
run() {
  local tool=$1 pattern=$2 c=$3 rate=$4 url
  case $pattern in
    sse) url="http://127.0.0.1:$PORT/sse?rate=$rate" ;;
    ws) url="ws://127.0.0.1:$PORT/ws?rate=$rate" ;;
  esac
  n="" errs=0
  case $tool in
    floor)
      measure floor "$tmp/floor" -url "$url" -c "$c" -ramp "$RAMP" -d "${D}s"
      read -r n s errs < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["messages"], r["duration_s"], r["failed"])' "$out") ;;
    rtbench)
      measure rtbench "$tmp/rtbench" load -c "$c" --ramp "$RAMP/s" -d "${D}s" --json "$url"
      read -r n s errs < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["counters"]["events"], r["duration_s"], sum(e["count"] for e in r.get("errors", {}).values()))' "$out") ;;
    k6)
      [ "$pattern" = ws ] && command -v k6 >/dev/null || return 0
      measure k6 env N="$c" D="$D" URL="$url" K6_NO_USAGE_REPORT=true k6 run -q --summary-export "$tmp/k6.json" "$tmp/k6.js"
      read -r n s < <(python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["metrics"]["ws_msgs_received"]; print(m["count"], m["count"]/m["rate"])' "$tmp/k6.json") ;;
  esac
}

declare -A RATE CPU RSS PER RF RK ERR
for pattern in $PATTERNS; do
  for load in $LOADS; do
    c=${load%x*} rate=${load#*x}
    for rep in $(seq "$REPS"); do
      declare -A this=()
      for tool in $TOOLS; do
        run "$tool" "$pattern" "$c" "$rate"
        [ -n "$n" ] || continue
        k="$tool,$pattern,$load"
        cpu=$(awk -v c="$cpu_s" -v n="$n" 'BEGIN {printf "%.2f", c * 1e6 / n}')
        this[$tool]=$cpu
        RATE[$k]+="$(awk -v n="$n" -v s="$s" 'BEGIN {printf "%.0f", n / s}') "
        CPU[$k]+="$cpu "
        RSS[$k]+="$rss_mib "
        PER[$k]+="$(awk -v r="$last_kib" -v c="$c" 'BEGIN {printf "%.1f", r / c}') "
        ERR[$k]+="$errs "
      done
      k="rtbench,$pattern,$load"
      if [ -n "${this[rtbench]:-}" ] && [ -n "${this[floor]:-}" ]; then
        RF[$k]+="$(awk -v a="${this[rtbench]}" -v b="${this[floor]}" 'BEGIN {printf "%.2f", a / b}') "
      fi
      if [ -n "${this[rtbench]:-}" ] && [ -n "${this[k6]:-}" ]; then
        RK[$k]+="$(awk -v a="${this[rtbench]}" -v b="${this[k6]}" 'BEGIN {printf "%.2f", a / b}') "
      fi
      unset this
    done
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk 'NR == 0 {exit} {v[NR]=$1} END {if (NR == 0) {printf "–"; exit} m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2; printf "%s (%s–%s)", m, v[1], v[NR]}'; }
echo "streams from rtbench serve, ${D}s per run (ramp ${RAMP}/s), medians of $REPS (min–max); $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo))"
echo "load average before $load0, after $(cut -d' ' -f1-3 /proc/loadavg); serve CPU over the script: $(awk -v t="$(awk '{print $14 + $15}' /proc/$serve_pid/stat)" -v hz="$tck" 'BEGIN {printf "%.1f s", t / hz}')"
printf '%-8s %-4s %-9s %-26s %-20s %-20s %-20s %-8s %-18s %s\n' tool pat load "msgs/s" "µs CPU/msg" "MiB RSS peak" "KiB/session (end)" errors "CPU ÷ floor" "CPU ÷ k6"
for pattern in $PATTERNS; do
  for load in $LOADS; do
    for tool in $TOOLS; do
      k="$tool,$pattern,$load"
      [ -n "${CPU[$k]:-}" ] || continue
      printf '%-8s %-4s %-9s %-26s %-20s %-20s %-20s %-8s %-18s %s\n' "$tool" "$pattern" "$load" \
        "$(echo "${RATE[$k]}" | median)" "$(echo "${CPU[$k]}" | median)" "$(echo "${RSS[$k]}" | median)" \
        "$(echo "${PER[$k]}" | median)" "$(echo "${ERR[$k]}" | tr ' ' '\n' | awk '{s += $1} END {print s + 0}')" \
        "$(echo "${RF[$k]:-}" | median)" "$(echo "${RK[$k]:-}" | median)"
    done
  done
done
