#!/usr/bin/env bash
# Soak: hold N SSE sessions (1 event/s each) against `rtbench serve` for D
# seconds while the server injects a fault into a small share of requests.
# Each stream ends cleanly after 120 events (count=120), so every session
# reconnects every two minutes with Last-Event-ID and new requests, and so
# new faults, keep coming all through the run; by default 2% of those
# requests end mid-event after 30 events. It checks, and prints:
#   - rtbench load's memory stays flat: the live heap each garbage
#     collection finds (GODEBUG=gctrace=1, the third figure of "A->B->C MB")
#     never exceeds the level of the first collection after the first minute
#     by more than 10 %. With 10,000 sessions the collector runs about once a
#     minute (the goal counts the sessions' stacks too), so the heap in use
#     between collections, and RSS with it, climbs to the goal over the first
#     collections: RSS is sampled every EVERY seconds and printed, and its
#     last minutes show it level;
#   - its goroutines are back to their baseline at the end (the result's
#     process.goroutines_start/end, taken by the engine);
#   - no results are lost: the result file is written, every published event
#     of the measured window arrived (lost 0), the reconnects are counted.
# Exit 0 when all hold, 1 otherwise.
#
#   bash bench/scripts/soak.sh                     # N=10000 D=600
#   N=500 D=90 bash bench/scripts/soak.sh          # a quick run
#   FAULT='reset:20' FAULT_RATE=0.01 bash bench/scripts/soak.sh
#
# Loopback only, bounded in time (D + about 30 s). Needs about one file per
# session in each of the two processes (this machine allows 20,000 each).
set -euo pipefail
N=${N:-10000}
D=${D:-600}
PORT=${PORT:-18095}
FAULT=${FAULT:-close-mid-event:30}
FAULT_RATE=${FAULT_RATE:-0.02}
EVERY=${EVERY:-5}   # seconds between memory samples
QUERY=${QUERY:-rate=1&retry=500ms&count=120}
source "$(dirname "$0")/lib.sh" # the repository as working directory, $tmp, cleanup on exit
[ "$D" -ge 90 ] || { echo "D must be at least 90 s: the first minute is the baseline" >&2; exit 2; }

build_rtbench
"$tmp/rtbench" serve --addr "127.0.0.1:$PORT" --max-conns 0 \
  --fault "$FAULT" --fault-rate "$FAULT_RATE" --fault-seed 7 2>"$tmp/serve.log" &
spid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

ramp=$(( N / 10 > 0 ? N / 10 : 1 ))   # reach N in about 10 s
start=$(date +%s)
GODEBUG=gctrace=1 "$tmp/rtbench" load -c "$N" --ramp "${ramp}/s" -d "${D}s" --reconnect-rate 1000/s \
  "http://127.0.0.1:$PORT/sse?$QUERY" --out "$tmp/result.json" >"$tmp/report.txt" 2>"$tmp/load.log" &
pid=$!
: >"$tmp/rss.tsv"
while kill -0 "$pid" 2>/dev/null; do
  sleep "$EVERY"
  t=$(( $(date +%s) - start ))
  kill -0 "$pid" 2>/dev/null || break
  printf '%s\t%s\t%s\n' "$t" "$(rss_kib "$pid")" "$(rss_kib "$spid")" >>"$tmp/rss.tsv"
done
code=0; wait "$pid" || code=$?
echo "rtbench load exited $code"
[ -s "$tmp/result.json" ] || { echo "FAIL: no result file"; tail -5 "$tmp/load.log"; exit 1; }
sed -n '1,6p' "$tmp/report.txt"
grep -A8 '^outages' "$tmp/report.txt" | head -9 || true

python3 - "$tmp/result.json" "$tmp/rss.tsv" "$N" "$D" "$FAULT" "$FAULT_RATE" "$code" "$tmp/load.log" <<'PY'
import json, re, sys
path, tsv, n, d, fault, rate, code, gclog = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6], int(sys.argv[7]), sys.argv[8]
r = json.load(open(path))
samples = [tuple(map(int, l.split('\t'))) for l in open(tsv) if l.strip()]
# gctrace: "gc 8 @63.320s 1%: ... 102->102->66 MB, 134 MB goal, ..."
gcs = [(float(m.group(1)), int(m.group(2))) for m in re.finditer(r"^gc \d+ @([\d.]+)s .*?\d+->\d+->(\d+) MB", open(gclog).read(), re.M)]
gcs = [g for g in gcs if g[0] < d]  # not the collections of the shutdown
after = [g for g in gcs if g[0] >= 60]
heap_level = after[0][1] if after else 0
heap_worst = max((h for _, h in after), default=0)
rss_first = max((s[1] for s in samples if 30 <= s[0] <= 60), default=0)
minutes = {}
for t, rss, _ in samples:
    if t > 60:
        minutes[t // 60] = max(minutes.get(t // 60, 0), rss)
later = [(t, rss) for t, rss, _ in samples if t > 60]
peak_t, peak = max(later, key=lambda x: x[1]) if later else (0, 0)
srv = [s[2] for s in samples]
c, p = r["counters"], r.get("process") or {}
errors = {k: v["count"] for k, v in r.get("errors", {}).items()}
d_m = r["metrics"].get("delivery", {})
rc = r["metrics"].get("reconnect", {})
print(f"soak: {n} SSE sessions, {d}s, /sse?{r['target']['url'].split('?', 1)[-1]}, fault {fault!r} on {float(rate)*100:g}% of requests; exit {code}")
print(f"  events {c['events']:,}, connects {c['connects']:,}, reconnects {c['reconnects']:,}, outages {c['outages']:,}, "
      f"lost {c['lost']}, duplicates {c['duplicates']}, out_of_order {c['out_of_order']}; errors {errors}")
print(f"  delivery p50 {d_m.get('p50_ms', 0):.2f} ms p99 {d_m.get('p99_ms', 0):.2f} ms max {d_m.get('max_ms', 0):.1f} ms; "
      f"reconnect p50 {rc.get('p50_ms', 0):.0f} ms p99 {rc.get('p99_ms', 0):.0f} ms; saturated {r['saturated']}")
print(f"  load live heap after each collection (MB, at s): " + ", ".join(f"{h}@{t:.0f}" for t, h in gcs)
      + f"; level after the first minute {heap_level} MB, worst later {heap_worst} MB ({(heap_worst/heap_level - 1)*100 if heap_level else 0:+.1f}%)")
print(f"  load RSS: first minute {rss_first/1024:.1f} MiB; highest per later minute "
      + " ".join(f"{minutes[k]/1024:.0f}" for k in sorted(minutes)) + f" MiB (peak {peak/1024:.1f} at {peak_t}s); server RSS {min(srv)/1024:.0f}–{max(srv)/1024:.0f} MiB")
print(f"  goroutines: {p.get('goroutines_start')} before the first session, {p.get('goroutines_end')} after the last returned; "
      f"peak RSS {p.get('max_rss_bytes', 0)/2**20:.1f} MiB")
ok = True
def check(cond, what):
    global ok
    print(("  PASS  " if cond else "  FAIL  ") + what)
    ok = ok and cond
check(code == 0, "rtbench load exited 0")
check(heap_level > 0 and heap_worst <= heap_level * 1.10, f"memory flat: every collection's live heap after the first minute ≤ its level then + 10% ({heap_level*1.1:.0f} MB)")
check(p.get("goroutines_end", 1 << 30) <= p.get("goroutines_start", 0) + 2, "goroutines back to the baseline (±2)")
check(c["lost"] == 0, "no event lost across the reconnects (Last-Event-ID resume)")
check(c["sessions_started"] >= n and c["events"] > 0.95 * n * (r["duration_s"] - 10), "results kept: every session started, ≥95% of the events a run this long publishes")
sys.exit(0 if ok else 1)
PY
