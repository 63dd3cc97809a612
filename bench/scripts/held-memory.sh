#!/usr/bin/env bash
# Held sessions over time: N sessions of one pattern at RATE events/s each
# against `rtbench serve` for D seconds, and rtbench load's memory per
# session as it goes: its RSS sampled from /proc every EVERY seconds, and,
# from the Go runtime's own trace of each garbage collection
# (GODEBUG=gctrace=1: "A->B->C MB, D MB goal, E MB stacks"), the live heap
# the collection found, its goal and the goroutine stack bytes in use (what
# the collector scans, not the stacks' allocated size). It prints one
# line a minute and whether RSS stayed flat within 10 % after the first
# two minutes (issue 17's target 4: ≤ 8 KiB per SSE session, ≤ 12 KiB per
# WebSocket session, flat over 10 minutes).
#
#   bash bench/scripts/held-memory.sh sse                # N=5000 RATE=10 D=600
#   D=120 bash bench/scripts/held-memory.sh ws           # a 2-minute look
#
# Loopback only, bounded in time (D + about 10 s).
set -euo pipefail
pattern=${1:-sse}
N=${N:-5000}
RATE=${RATE:-10}
D=${D:-600}
EVERY=${EVERY:-10}
PORT=${PORT:-18098}
source "$(dirname "$0")/lib.sh" # the repository as working directory, $tmp, cleanup on exit
case $pattern in
  sse) url="http://127.0.0.1:$PORT/sse?rate=$RATE" ;;
  ws) url="ws://127.0.0.1:$PORT/ws?rate=$RATE" ;;
  *) echo "pattern: sse or ws" >&2; exit 2 ;;
esac

build_rtbench
ulimit -n 65536 2>/dev/null || true
"$tmp/rtbench" serve --addr "127.0.0.1:$PORT" --max-conns 0 --heartbeat 15s 2>/dev/null &
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
load0=$(cut -d' ' -f1-3 /proc/loadavg)

# The process's own footprint with one session (the engine's shard
# histograms, the runtime), to subtract as scale.sh does.
"$tmp/rtbench" load -c 1 -d 4s "$url" >/dev/null 2>&1 &
p1=$!; sleep 3; base=$(awk '/^VmRSS/ {print $2}' "/proc/$p1/status"); wait $p1 || true

GODEBUG=gctrace=1 "$tmp/rtbench" load -c "$N" --ramp "$(( N / 10 ))/s" -d "${D}s" --out "$tmp/result.json" "$url" >/dev/null 2>"$tmp/load.err" &
pid=$!
start=$(date +%s)
: >"$tmp/rss"
while kill -0 "$pid" 2>/dev/null; do
  sleep "$EVERY"
  r=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null) || break
  [ -n "$r" ] && echo "$(( $(date +%s) - start )) $r" >>"$tmp/rss"
done
wait "$pid" || true
load1=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$tmp/rss" "$tmp/load.err" "$tmp/result.json" "$N" "$pattern" "$RATE" "$D" "$load0" "$load1" "$base" <<'PY'
import json, re, sys
rss_path, err_path, res_path, n, pattern, rate, d, load0, load1, base = sys.argv[1:]
n, base = int(n), int(base)
rss = [tuple(map(int, l.split())) for l in open(rss_path) if l.strip()]
# gc 12 @61.3s 1%: ... 40->41->20 MB, 42 MB goal, 20 MB stacks, 0 MB globals, 2 P
gcs = []
for l in open(err_path):
    m = re.match(r'gc \d+ @([\d.]+)s .*?(\d+)->(\d+)->(\d+) MB, (\d+) MB goal, (\d+) MB stacks', l)
    if m:
        gcs.append((float(m.group(1)), *map(int, m.group(2, 3, 4, 5, 6))))
r = json.load(open(res_path))
c = r["counters"]
errors = sum(e["count"] for e in r.get("errors", {}).values())
print(f"{pattern}: {n} sessions at {rate}/s for {d} s: events {c['events']}, errors {errors}, saturated {r['saturated']}; load average {load0} before, {load1} after")
print(f"one session: RSS {base / 1024:.1f} MiB (subtracted below: KiB/session = (RSS - that) / {n})")
print(f"{'t s':>5} {'RSS MiB':>8} {'KiB/session':>11}   last GC before t: {'live MB':>7} {'goal MB':>7} {'stk use MB':>10}")
shown = -1
for i, (t, kib) in enumerate(rss):
    if t // 30 > shown or i == len(rss) - 1:  # the first sample of each half minute, and the last
        shown = t // 30
        g = [x for x in gcs if x[0] <= t]
        live, goal, stacks = (g[-1][3], g[-1][4], g[-1][5]) if g else (0, 0, 0)
        print(f"{t:>5} {kib / 1024:>8.1f} {(kib - base) / n:>11.1f}   {'':17} {live:>7} {goal:>7} {stacks:>10}")
late = [kib for t, kib in rss if t >= 120]
if late:
    lo, hi = min(late), max(late)
    print(f"after 120 s: RSS {lo / 1024:.1f}–{hi / 1024:.1f} MiB, {(lo - base) / n:.1f}–{(hi - base) / n:.1f} KiB per session ({lo / n:.1f}–{hi / n:.1f} counting the one-session footprint), spread {(hi - lo) / lo * 100:.1f} % (flat: ≤ 10 %)")
if gcs:
    t, _, _, live, goal, stacks = gcs[-1]
    print(f"last GC (@{t:.0f} s): live heap {live * 1024 / n:.1f} KiB/session, stack in use {stacks * 1024 / n:.1f} KiB/session, goal {goal * 1024 / n:.1f} KiB/session; {len(gcs)} collections")
PY
