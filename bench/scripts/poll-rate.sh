#!/usr/bin/env bash
# The open model against a target that answers fast: `rtbench load --rate`
# at each of RATES, with the target's headroom measured by wrk (closed loop,
# 50 connections) in the same repetition, REPS times. The target is nginx
# (the Debian package nginx-light, installed here when missing; a `return
# 200` JSON location, access log off), which answers several times faster
# than rtbench serve on the same cores; TARGET=serve uses rtbench serve's
# /healthz instead.
#
# Per rate it prints medians (min–max) of: the requests/s delivered, the
# starts dropped, the late starts (more than 1 ms behind the schedule), the
# connections opened, whether rtbench flagged itself saturated, its peak RSS
# (VmHWM from /proc) and its CPU per request; and wrk's requests/s, which is
# what the target can answer.
#
#   RATES="5000 20000" D=5 REPS=3 bash bench/scripts/poll-rate.sh
set -euo pipefail
RATES=${RATES:-"5000 20000"}
D=${D:-5}
REPS=${REPS:-3}
PORT=${PORT:-18099}
TARGET=${TARGET:-nginx}
source "$(dirname "$0")/lib.sh" # the repository as working directory, $tmp, cleanup on exit

. bench/peers.sh wrk
build_rtbench
ulimit -n 65536 2>/dev/null || true
if [ "$TARGET" = nginx ]; then
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || apt-get install -y nginx-light >/dev/null
  cat >"$tmp/nginx.conf" <<CONF
$( [ "$(id -u)" = 0 ] && echo "user root;")
daemon off;
worker_processes 1;
worker_rlimit_nofile 65536;
pid $tmp/nginx.pid;
error_log $tmp/error.log warn;
events { worker_connections 20000; }
http {
  access_log off;
  client_body_temp_path $tmp; proxy_temp_path $tmp; fastcgi_temp_path $tmp; uwsgi_temp_path $tmp; scgi_temp_path $tmp;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$PORT; location / { default_type application/json; return 200 '{"status":"ok","uptime_s":1}\n'; } }
}
CONF
  "$(command -v nginx || echo /usr/sbin/nginx)" -p "$tmp" -c "$tmp/nginx.conf" &
else
  "$tmp/rtbench" serve --addr "127.0.0.1:$PORT" 2>/dev/null &
fi
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
url="http://127.0.0.1:$PORT/healthz"
tck=$(getconf CLK_TCK)

declare -A WRK RPS DROP LATE CONN SAT RSS CPU
for rep in $(seq "$REPS"); do
  for rate in $RATES; do
    w=$(wrk -t 2 -c 50 -d "${D}s" "$url" | awk '/^Requests\/sec:/ {print $2}')
    WRK[$rate]+="$w "
    OUT="$tmp/rt.json" bash -c '"$@" >"$OUT" 2>/dev/null & p=$!; hwm=0
      while :; do # builtins: a fork would count as CPU of the tool
        st=""
        while read -r k v _; do case $k in State:) st=$v ;; VmHWM:) hwm=$v ;; esac; done 2>/dev/null </proc/$p/status || break
        if [ -z "$st" ] || [ "$st" = Z ]; then break; fi
        sleep 0.2
      done
      wait $p || true
      s=$(cat /proc/$$/stat); set -- ${s#*) }; echo $(( ${14} + ${15} )) $hwm' sh \
      "$tmp/rtbench" load --rate "${rate}/s" -d "${D}s" --json "$url" >"$tmp/ticks" </dev/null
    read -r ticks hwm <"$tmp/ticks"
    read -r n s drop late conns sat < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); c=r["counters"]
print(c["requests"], r["duration_s"], c["dropped"], c["late_starts"], c["connects"], 1 if r["saturated"] else 0)' "$tmp/rt.json")
    RPS[$rate]+="$(awk -v n="$n" -v s="$s" 'BEGIN {printf "%.0f", n / s}') "
    DROP[$rate]+="$drop "; LATE[$rate]+="$late "; CONN[$rate]+="$conns "; SAT[$rate]+="$sat "
    RSS[$rate]+="$(awk -v k="$hwm" 'BEGIN {printf "%.1f", k / 1024}') "
    CPU[$rate]+="$(awk -v t="$ticks" -v hz="$tck" -v n="$n" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}') "
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2; printf "%s (%s–%s)", m, v[1], v[NR]}'; }
echo "open model against $TARGET ($url), ${D}s per run, medians of $REPS (min–max); $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-7s %-22s %-22s %-16s %-20s %-14s %-10s %-18s %s\n' rate "wrk req/s (headroom)" "delivered req/s" dropped "late starts" connects saturated "MiB RSS" "µs CPU/req"
for rate in $RATES; do
  printf '%-7s %-22s %-22s %-16s %-20s %-14s %-10s %-18s %s\n' "$rate" "$(echo "${WRK[$rate]}" | median)" "$(echo "${RPS[$rate]}" | median)" \
    "$(echo "${DROP[$rate]}" | median)" "$(echo "${LATE[$rate]}" | median)" "$(echo "${CONN[$rate]}" | median)" \
    "$(echo "${SAT[$rate]}" | median)" "$(echo "${RSS[$rate]}" | median)" "$(echo "${CPU[$rate]}" | median)"
done
