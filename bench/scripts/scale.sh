#!/usr/bin/env bash
# Scale benchmark: hold N sessions of one pattern at 1 event/s against
# `rtbench serve` on this machine for D seconds, and print rtbench's client
# memory per session (RSS sampled from /proc while the sessions are held)
# together with the run's error count.
#
#   bash bench/scripts/scale.sh sse            # N=10000 D=60 by default
#   N=2000 D=20 bash bench/scripts/scale.sh ws
#
# Loopback only, bounded in time. Needs about 2 files per session across the
# two processes (each stays under this machine's 20,000 per process).
set -euo pipefail
pattern=${1:-sse}
N=${N:-10000}
D=${D:-60}
PORT=${PORT:-18090}
source "$(dirname "$0")/lib.sh" # the repository as working directory, $tmp, cleanup on exit

build_rtbench
"$tmp/rtbench" serve --addr "127.0.0.1:$PORT" --max-conns 0 --heartbeat 15s 2>"$tmp/serve.log" &
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

case $pattern in
  sse) url="http://127.0.0.1:$PORT/sse?rate=1" ;;
  ws)  url="ws://127.0.0.1:$PORT/ws?rate=1" ;;
  *) echo "pattern: sse or ws" >&2; exit 2 ;;
esac

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# The process's own footprint with one session, to subtract.
"$tmp/rtbench" load -c 1 -d 3s "$url" --json >/dev/null 2>&1 &
pid=$!; sleep 2; base=$(rss_kib $pid); wait $pid || true

ramp=$(( N / 10 ))   # reach N in about 10 s
"$tmp/rtbench" load -c "$N" --ramp "${ramp}/s" -d "${D}s" "$url" --out "$tmp/result.json" --json >"$tmp/out.json" 2>"$tmp/load.log" &
pid=$!
peak=0; steady=0
for s in $(seq "$D"); do
  sleep 1
  r=$(rss_kib $pid); [ "$r" -gt "$peak" ] && peak=$r
  # Steady state: after the ramp (10 s) and one more second.
  [ "$s" -eq $(( D > 20 ? D - 5 : D - 2 )) ] && steady=$r
done
wait $pid || true

python3 - "$tmp/result.json" "$N" "$base" "$steady" "$peak" "$pattern" <<'PY'
import json, sys
path, n, base, steady, peak, pattern = sys.argv[1], int(sys.argv[2]), *map(int, sys.argv[3:6]), sys.argv[6]
r = json.load(open(path))
errors = sum(e["count"] for e in r.get("errors", {}).values())
c = r["counters"]
d = r["metrics"].get("delivery", {})
print(f"pattern {pattern}: {n} sessions for {r['params']['duration_s']:.0f}s (measured {r['duration_s']:.1f}s)")
print(f"  sessions started {c['sessions_started']}, connects {c['connects']}, events {c['events']}, errors {errors}")
print(f"  delivery p50 {d.get('p50_ms', 0):.2f} ms, p99 {d.get('p99_ms', 0):.2f} ms, max {d.get('max_ms', 0):.2f} ms; saturated {r['saturated']}")
print(f"  client RSS: one session {base} KiB; with {n} sessions steady {steady} KiB, peak {peak} KiB")
print(f"  per session: {(steady - base) / n:.1f} KiB steady ({steady / n:.1f} KiB including the process's own {base} KiB)")
PY
