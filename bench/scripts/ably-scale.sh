#!/usr/bin/env bash
# Ably benchmark: hold N Ably-protocol subscribers of one channel on
# `rtbench serve` on this machine with a publisher at R messages/s (through
# the Ably REST API, `rtbench load --publish-rate`) for D seconds, and print
# the delivery latency (with its histogram from the text report), lost and
# duplicate messages, errors, what was published, rtbench's client memory
# per session (RSS sampled from /proc while the sessions are held), and the
# CPU each delivery costs serve and the load generator (utime + stime from
# /proc over the measured window, divided by the deliveries in it).
#
#   bash bench/scripts/ably-scale.sh                 # N=5000 R=10 D=60
#   N=500 D=30 bash bench/scripts/ably-scale.sh
#   FORMAT=msgpack N=500 D=30 bash bench/scripts/ably-scale.sh
#
# Loopback only, bounded in time. The first RAMP+2 seconds (connections
# opening, RAMP = N/250 s at least 2 unless set) are warmup, kept out of the
# figures. Lost and duplicates come from each message's number in the
# channel (serve's channel serial), per subscriber.
# Needs about 2 files per session across the two processes.
set -euo pipefail
N=${N:-5000}
R=${R:-10}
D=${D:-60}
FORMAT=${FORMAT:-json}
PORT=${PORT:-18092}
source "$(dirname "$0")/lib.sh" # the repository as working directory, $tmp, cleanup on exit

build_rtbench
"$tmp/rtbench" serve --addr "127.0.0.1:$PORT" --max-conns 0 2>"$tmp/serve.log" &
serve_pid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

url="ably+http://rtbench.local:rtbench-local-secret@127.0.0.1:$PORT/bench?format=$FORMAT"
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# cpu_ticks PID: utime + stime, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# The process's own footprint with one session, to subtract.
"$tmp/rtbench" load -c 1 -d 3s "$url" --json >/dev/null 2>&1 &
pid=$!; sleep 2; base=$(rss_kib $pid); wait $pid || true

ramp_s=${RAMP:-$(( N / 250 > 2 ? N / 250 : 2 ))}
warmup=$(( ramp_s + 2 ))
"$tmp/rtbench" load -c "$N" --ramp "${ramp_s}s" -d "${D}s" --warmup "${warmup}s" --publish-rate "${R}/s" \
  "$url" --out "$tmp/result.json" >"$tmp/report.txt" 2>"$tmp/load.log" &
pid=$!
# RSS once a second while the run lasts; the steady sample is the first
# taken at least D-5 s (D-2 for short runs) after the start, by the clock,
# so a busy machine that stretches the loop does not miss it.
# CPU of both processes from the end of the warmup to a second before the
# end, by the clock.
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

sed -n '/^delivery histogram/,/^$/p' "$tmp/report.txt"
python3 - "$tmp/result.json" "$N" "$R" "$base" "$steady" "$peak" "$FORMAT" "$tmp/load.log" "$cpu0" "$cpu1" "$t0" "$t1" "$(getconf CLK_TCK)" <<'PY'
import json, re, sys
path, n, rate, base, steady, peak, fmt, log = sys.argv[1], int(sys.argv[2]), sys.argv[3], *map(int, sys.argv[4:7]), sys.argv[7], sys.argv[8]
cpu0, cpu1, t0, t1, tck = sys.argv[9].split(), sys.argv[10].split(), float(sys.argv[11]), float(sys.argv[12]), int(sys.argv[13])
r = json.load(open(path))
m = re.search(r"published (\d+) messages .*\((\d+) failed\)", open(log).read())
published, failed = (m.group(1), m.group(2)) if m else ("?", "?")
c = r["counters"]
errs = {k: (e["count"], e.get("codes", {})) for k, e in r.get("errors", {}).items()}
d = r["metrics"].get("delivery", {})
a = r["metrics"].get("attach", {})
print(f"ably ({fmt}): {n} subscribers, publisher {rate}/s, {r['params']['duration_s']:.0f}s (measured {r['duration_s']:.1f}s after warmup)")
print(f"  published {published} (failed {failed}); delivered events {c['events']}")
print(f"  lost {c['lost']}, duplicates {c['duplicates']}, out of order {c['out_of_order']}; errors {errs or 'none'}; saturated {r['saturated']}")
print(f"  delivery p50 {d.get('p50_ms', 0):.2f} ms, p99 {d.get('p99_ms', 0):.2f} ms, max {d.get('max_ms', 0):.2f} ms ({d.get('count', 0)} values)")
if a.get("count"):
    print(f"  attach p50 {a.get('p50_ms', 0):.2f} ms, p99 {a.get('p99_ms', 0):.2f} ms")
else:
    print("  attach: every session attached during the warmup (not in the figures)")
print(f"  client RSS: one session {base} KiB; with {n} sessions steady {steady} KiB, peak {peak} KiB")
print(f"  per session: {(steady - base) / n:.1f} KiB steady ({steady / n:.1f} KiB including the process's own {base} KiB)")
if cpu0 and cpu1 and t1 > t0 and r["duration_s"] > 0 and c["events"]:
    rate_ev = c["events"] / r["duration_s"]
    for name, i in (("serve", 0), ("load", 1)):
        cores = (int(cpu1[i]) - int(cpu0[i])) / tck / (t1 - t0)
        print(f"  {name:5} CPU {cores:.2f} cores over the measured window, {cores / rate_ev * 1e6:.1f} µs per delivery ({rate_ev:,.0f} deliveries/s)")
PY
