#!/usr/bin/env bash
# Pusher load benchmark: hold N Pusher-protocol subscribers on one channel of
# `rtbench serve` on this machine for D seconds while one publisher triggers
# RATE messages a second through serve's Pusher HTTP API (signed), and print
# the delivery histogram's summary, lost and duplicate messages, errors by
# class and code, rtbench's client memory per session (RSS sampled from
# /proc while the sessions are held), and the CPU each delivery costs serve
# and the load generator (utime + stime from /proc over the measured window,
# divided by the deliveries in it).
#
#   bash bench/scripts/pusher-load.sh                  # N=5000 D=60 RATE=10/s
#   N=500 D=30 bash bench/scripts/pusher-load.sh
#   CHANNEL=private-bench N=500 bash bench/scripts/pusher-load.sh   # signed subscriptions
#
# Loopback only, bounded in time. The connections open over RAMP seconds
# (N/250, at least 2, unless set); the first RAMP+2 seconds are warmup, kept
# out of the figures. Lost and duplicates come from each message's number in
# the channel (serve's seq), per subscriber. Needs about 2 files per session
# across the two processes.
set -euo pipefail
N=${N:-5000}
D=${D:-60}
RATE=${RATE:-10/s}
CHANNEL=${CHANNEL:-bench}
PORT=${PORT:-18091}
APP=${APP:-bench:bench-key:bench-secret}
source "$(dirname "$0")/lib.sh" # the repository as working directory, $tmp, cleanup on exit

IFS=: read -r app_id key secret <<<"$APP"
build_rtbench
"$tmp/rtbench" serve --addr "127.0.0.1:$PORT" --max-conns 0 --pusher-app "$APP" 2>"$tmp/serve.log" &
serve_pid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
url="pusher://$key:$secret@127.0.0.1:$PORT/$CHANNEL?app=$app_id"

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# cpu_ticks PID: utime + stime, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# The process's own footprint with one session, to subtract.
"$tmp/rtbench" load -c 1 -d 3s "$url" --json >/dev/null 2>&1 &
pid=$!; sleep 2; base=$(rss_kib $pid); wait $pid || true

ramp_s=${RAMP:-$(( N / 250 > 2 ? N / 250 : 2 ))}
warmup=$(( ramp_s + 2 ))
"$tmp/rtbench" load -c "$N" --ramp "${ramp_s}s" -d "${D}s" --warmup "${warmup}s" --publish-rate "$RATE" --allow-saturated \
  "$url" --out "$tmp/result.json" --json >"$tmp/out.json" 2>"$tmp/load.log" &
pid=$!
# RSS once a second; the steady sample and the CPU of both processes (from
# the end of the warmup to a second before the end) by the clock.
peak=0; steady=0; start=$(date +%s); steady_at=$(( D > 20 ? D - 5 : D - 2 ))
cpu0=""; cpu1=""; t0=0; t1=0
while kill -0 "$pid" 2>/dev/null; do
  sleep 1
  r=$(rss_kib $pid); r=${r:-0}; [ "$r" -gt "$peak" ] && peak=$r
  el=$(( $(date +%s) - start ))
  if [ "$steady" -eq 0 ] && [ "$el" -ge "$steady_at" ]; then steady=$r; fi
  if [ -z "$cpu0" ] && [ "$el" -ge "$warmup" ]; then cpu0="$(cpu_ticks $serve_pid) $(cpu_ticks $pid)"; t0=$(date +%s.%N); fi
  if [ -z "$cpu1" ] && [ "$el" -ge $(( D - 1 )) ]; then cpu1="$(cpu_ticks $serve_pid) $(cpu_ticks $pid)"; t1=$(date +%s.%N); fi
done
wait $pid || true
grep '^rtbench: published' "$tmp/load.log" || { cat "$tmp/load.log" >&2; exit 1; }
"$tmp/rtbench" report "$tmp/result.json" 2>/dev/null | sed -n '/^delivery histogram/,/^$/p'

python3 - "$tmp/result.json" "$N" "$base" "$steady" "$peak" "$RATE" "$CHANNEL" "$cpu0" "$cpu1" "$t0" "$t1" "$(getconf CLK_TCK)" <<'PY'
import json, sys
path, n, base, steady, peak, rate, channel = sys.argv[1], int(sys.argv[2]), *map(int, sys.argv[3:6]), sys.argv[6], sys.argv[7]
cpu0, cpu1, t0, t1, tck = sys.argv[8].split(), sys.argv[9].split(), float(sys.argv[10]), float(sys.argv[11]), int(sys.argv[12])
r = json.load(open(path))
c = r["counters"]
errs = ", ".join(f"{k} ×{v['count']} {v.get('codes', '')}" for k, v in r.get("errors", {}).items()) or "none"
print(f"pusher: {n} subscribers of {channel}, publisher at {rate}, {r['params']['duration_s']:.0f}s (measured {r['duration_s']:.1f}s)")
print(f"  sessions started {c['sessions_started']}, connects {c['connects']}, events {c['events']}, lost {c['lost']}, duplicates {c['duplicates']}, out of order {c['out_of_order']}, errors: {errs}")
for m in ("handshake", "delivery", "wire"):
    d = r["metrics"].get(m)
    if d:
        print(f"  {m:9} p50 {d['p50_ms']:.2f} ms  p90 {d['p90_ms']:.2f} ms  p99 {d['p99_ms']:.2f} ms  max {d['max_ms']:.2f} ms  ({d['count']} values)")
print(f"  saturated {r['saturated']} (self-check p99.9 {r.get('self_check', {}).get('p99_9_ms', 0):.1f} ms)")
print(f"  client RSS: one session {base} KiB; with {n} sessions steady {steady} KiB, peak {peak} KiB")
print(f"  per session: {(steady - base) / n:.1f} KiB steady ({steady / n:.1f} KiB including the process's own {base} KiB)")
if cpu0 and cpu1 and t1 > t0 and r["duration_s"] > 0 and c["events"]:
    rate_ev = c["events"] / r["duration_s"]
    for name, i in (("serve", 0), ("load", 1)):
        cores = (int(cpu1[i]) - int(cpu0[i])) / tck / (t1 - t0)
        print(f"  {name:5} CPU {cores:.2f} cores over the measured window, {cores / rate_ev * 1e6:.1f} µs per delivery ({rate_ev:,.0f} deliveries/s)")
PY
