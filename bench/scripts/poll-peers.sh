#!/usr/bin/env bash
# Keep-alive polling, side by side: rtbench load (closed loop, --interval 0),
# wrk and hey against the same rtbench serve route, at each connection count,
# REPS times in turn (the tools alternate inside each repetition, so a busy
# machine slows them alike). wrk and hey are Debian packages, installed here
# with apt-get when missing (their code is never committed).
#
# Per tool and connection count it prints medians (and min–max) of:
#   req/s         requests completed per second (each tool's own count)
#   µs CPU/req    the tool's user+system CPU (from /proc, the children's
#                 cutime+cstime of a wrapper shell) per request
#   conns         TCP connections the target accepted during the run
#                 (rtbench serve's rtbench_serve_connections_accepted_total;
#                 rtbench's includes its one probe request's connection)
# and each tool's req/s as a ratio of wrk's in the same repetition.
#
#   CONNS="50 500" D=10 REPS=3 bash bench/scripts/poll-peers.sh
set -euo pipefail
CONNS=${CONNS:-"50 500"}
D=${D:-10}
REPS=${REPS:-3}
PORT=${PORT:-18097}
ROUTE=${ROUTE:-/healthz} # JSON, no ETag: every tool gets the same 200 and bytes
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v hey >/dev/null || missing+=(hey)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get install -y "${missing[@]}" >/dev/null || {
    apt-get update >/dev/null && apt-get install -y "${missing[@]}" >/dev/null
  }
fi

go build -o "$tmp/rtbench" .
ulimit -n 65536 2>/dev/null || true
"$tmp/rtbench" serve --addr "127.0.0.1:$PORT" 2>/dev/null &
serve_pid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
url="http://127.0.0.1:$PORT$ROUTE"
tck=$(getconf CLK_TCK)

accepted() { curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^rtbench_serve_connections_accepted_total/ {print $2}'; }
proc_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# measure NAME CMD...: runs CMD through a shell that prints its children's
# CPU ticks afterwards; sets out (the tool's stdout), cpu_s and conns.
measure() {
  local name=$1; shift
  local a0 a1
  a0=$(accepted)
  OUT="$tmp/$name.out" sh -c '"$@" >"$OUT" 2>"$OUT.err"; s=$(cat /proc/$$/stat); set -- ${s#*) }; echo $(( ${14} + ${15} ))' sh "$@" \
    >"$tmp/ticks" </dev/null
  a1=$(accepted)
  conns=$(( a1 - a0 - 1 )) # the second /metrics fetch's own connection
  cpu_s=$(awk -v t="$(cat "$tmp/ticks")" -v hz="$tck" 'BEGIN {printf "%.3f", t / hz}')
  out="$tmp/$name.out"
}

declare -A RPS CPU CON RATIO
for c in $CONNS; do
  for rep in $(seq "$REPS"); do
    measure wrk wrk -t 2 -c "$c" -d "${D}s" --latency "$url"
    wrk_rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
    wrk_n=$(awk '/requests in/ {print $1}' "$out")
    RPS[wrk,$c]+="$wrk_rps "; CON[wrk,$c]+="$conns "
    CPU[wrk,$c]+="$(awk -v s="$cpu_s" -v n="$wrk_n" 'BEGIN {printf "%.2f", s * 1e6 / n}') "
    RATIO[wrk,$c]+="1 "

    measure hey hey -z "${D}s" -c "$c" "$url"
    hey_rps=$(awk '/Requests\/sec:/ {print $2}' "$out")
    hey_n=$(awk '/\[200\]/ {print $2}' "$out")
    RPS[hey,$c]+="$hey_rps "; CON[hey,$c]+="$conns "
    CPU[hey,$c]+="$(awk -v s="$cpu_s" -v n="$hey_n" 'BEGIN {printf "%.2f", s * 1e6 / n}') "
    RATIO[hey,$c]+="$(awk -v a="$hey_rps" -v b="$wrk_rps" 'BEGIN {printf "%.2f", a / b}') "

    measure rtbench "$tmp/rtbench" load -c "$c" -d "${D}s" --interval 0 --json "$url"
    read -r rt_n rt_s < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["result"]; print(r["counters"]["requests"], r["duration_s"])' "$out")
    rt_rps=$(awk -v n="$rt_n" -v s="$rt_s" 'BEGIN {printf "%.1f", n / s}')
    RPS[rtbench,$c]+="$rt_rps "; CON[rtbench,$c]+="$conns "
    CPU[rtbench,$c]+="$(awk -v s="$cpu_s" -v n="$rt_n" 'BEGIN {printf "%.2f", s * 1e6 / n}') "
    RATIO[rtbench,$c]+="$(awk -v a="$rt_rps" -v b="$wrk_rps" 'BEGIN {printf "%.2f", a / b}') "
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2; printf "%s (%s–%s)", m, v[1], v[NR]}'; }
echo "keep-alive polling of $url, ${D}s per run, medians of $REPS (min–max); $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "server CPU over the whole script: $(awk -v t="$(proc_ticks $serve_pid)" -v hz="$tck" 'BEGIN {printf "%.1f s", t / hz}')"
printf '%-8s %6s  %-26s %-22s %-22s %s\n' tool conns "req/s" "µs CPU/req" "conns opened" "req/s ÷ wrk"
for c in $CONNS; do
  for tool in wrk hey rtbench; do
    printf '%-8s %6s  %-26s %-22s %-22s %s\n' "$tool" "$c" \
      "$(echo "${RPS[$tool,$c]}" | median)" "$(echo "${CPU[$tool,$c]}" | median)" \
      "$(echo "${CON[$tool,$c]}" | median)" "$(echo "${RATIO[$tool,$c]}" | median)"
  done
done
