#!/usr/bin/env bash
# Pusher load benchmark: hold N Pusher-protocol subscribers on one channel of
# `rtbench serve` on this machine for D seconds while one publisher triggers
# RATE messages a second through serve's Pusher HTTP API (signed), and print
# the delivery histogram's summary, lost and duplicate messages, errors by
# class and code, and rtbench's client memory per session (RSS sampled from
# /proc while the sessions are held).
#
#   bash bench/scripts/pusher-load.sh                  # N=5000 D=60 RATE=10/s
#   N=500 D=30 bash bench/scripts/pusher-load.sh
#   CHANNEL=private-bench N=500 bash bench/scripts/pusher-load.sh   # signed subscriptions
#
# Loopback only, bounded in time. Needs about 2 files per session across the
# two processes.
set -euo pipefail
N=${N:-5000}
D=${D:-60}
RATE=${RATE:-10/s}
CHANNEL=${CHANNEL:-bench}
PORT=${PORT:-18091}
APP=${APP:-bench:bench-key:bench-secret}
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT

IFS=: read -r app_id key secret <<<"$APP"
go build -o "$tmp/rtbench" .
"$tmp/rtbench" serve --addr "127.0.0.1:$PORT" --max-conns 0 --pusher-app "$APP" 2>"$tmp/serve.log" &
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
url="pusher://$key:$secret@127.0.0.1:$PORT/$CHANNEL?app=$app_id"

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# The process's own footprint with one session, to subtract.
"$tmp/rtbench" load -c 1 -d 3s "$url" --json >/dev/null 2>&1 &
pid=$!; sleep 2; base=$(rss_kib $pid); wait $pid || true

ramp=$(( N / 10 > 0 ? N / 10 : 1 ))   # reach N in about 10 s
"$tmp/rtbench" load -c "$N" --ramp "${ramp}/s" -d "${D}s" --publish-rate "$RATE" --allow-saturated \
  "$url" --out "$tmp/result.json" --json >"$tmp/out.json" 2>"$tmp/load.log" &
pid=$!
peak=0; steady=0
for s in $(seq "$D"); do
  sleep 1
  r=$(rss_kib $pid); [ "$r" -gt "$peak" ] && peak=$r
  [ "$s" -eq $(( D > 20 ? D - 5 : D - 2 )) ] && steady=$r
done
wait $pid || true
grep '^rtbench: published' "$tmp/load.log" || { cat "$tmp/load.log" >&2; exit 1; }

python3 - "$tmp/result.json" "$N" "$base" "$steady" "$peak" "$RATE" "$CHANNEL" <<'PY'
import json, sys
path, n, base, steady, peak, rate, channel = sys.argv[1], int(sys.argv[2]), *map(int, sys.argv[3:6]), sys.argv[6], sys.argv[7]
r = json.load(open(path))
c = r["counters"]
errs = ", ".join(f"{k} ×{v['count']} {v.get('codes', '')}" for k, v in r.get("errors", {}).items()) or "none"
print(f"pusher: {n} subscribers of {channel}, publisher at {rate}, {r['params']['duration_s']:.0f}s (measured {r['duration_s']:.1f}s)")
print(f"  sessions started {c['sessions_started']}, connects {c['connects']}, events {c['events']}, lost {c['lost']}, duplicates {c['duplicates']}, errors: {errs}")
for m in ("handshake", "delivery", "wire"):
    d = r["metrics"].get(m)
    if d:
        print(f"  {m:9} p50 {d['p50_ms']:.2f} ms  p90 {d['p90_ms']:.2f} ms  p99 {d['p99_ms']:.2f} ms  max {d['max_ms']:.2f} ms  ({d['count']} values)")
print(f"  saturated {r['saturated']} (self-check p99.9 {r.get('self_check', {}).get('p99_9_ms', 0):.1f} ms)")
print(f"  client RSS: one session {base} KiB; with {n} sessions steady {steady} KiB, peak {peak} KiB")
print(f"  per session: {(steady - base) / n:.1f} KiB steady ({steady / n:.1f} KiB including the process's own {base} KiB)")
PY
