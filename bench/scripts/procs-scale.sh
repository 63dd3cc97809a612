#!/usr/bin/env bash
# One box, many processes: N sessions of one pattern held by `rtbench load
# --procs P` against `rtbench serve --procs P` on this machine, for HOLD
# seconds once all have started. One process may open 20,000 files here, so
# 100,000 sessions need several processes on each side; the load agents
# connect from their own loopback addresses (127.0.i+1.x), so no source
# address runs out of ports.
#
# Prints the merged report's head, the sessions the agents meant and the
# connections the serving processes saw (their /metrics, summed over the
# processes: each scrape lands on one of them, so it asks until every
# process answered), the error count, and the summed peak RSS of each side.
#
#   N=100000 P=6 bash bench/scripts/procs-scale.sh sse
#   N=100000 P=6 bash bench/scripts/procs-scale.sh ws
#   N=4000 P=2 HOLD=10 bash bench/scripts/procs-scale.sh sse     # a quick try
#
# Loopback only, bounded in time (ramp + HOLD + 30 s of grace).
set -euo pipefail
pattern=${1:-sse}
N=${N:-100000}
P=${P:-6}
HOLD=${HOLD:-60}
RAMP=${RAMP:-1000}      # sessions per second, all agents together
EVERY=${EVERY:-0.05}    # events per second per session (rate=)
HEARTBEAT=${HEARTBEAT:-30s} # serve's SSE comment interval
PORT=${PORT:-18120}
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT

go build -o "$tmp/rtbench" .
"$tmp/rtbench" serve --procs "$P" --addr "127.0.0.1:$PORT" --heartbeat "$HEARTBEAT" 2>"$tmp/serve.log" &
serve=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

case $pattern in
  sse) url="http://127.0.0.1:$PORT/sse?rate=$EVERY" ;;
  ws)  url="ws://127.0.0.1:$PORT/ws?rate=$EVERY" ;;
  *) echo "pattern: sse or ws" >&2; exit 2 ;;
esac

# The process and all its descendants.
tree() {
  echo "$1"
  for c in $(pgrep -P "$1" || true); do tree "$c"; done
}
# Summed VmHWM (peak RSS, KiB) of a process and its descendants.
tree_hwm() {
  local total=0 v
  for p in $(tree "$1"); do
    v=$(awk '/^VmHWM/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
    total=$(( total + ${v:-0} ))
  done
  echo "$total"
}

ramp_s=$(( (N + RAMP - 1) / RAMP ))
d=$(( ramp_s + HOLD ))
echo "rtbench load --procs $P -c $N --ramp ${RAMP}/s -d ${d}s $url  (serve --procs $P)"
timeout $(( d + 30 )) "$tmp/rtbench" load --procs "$P" -c "$N" --ramp "${RAMP}/s" -d "${d}s" "$url" \
  --out "$tmp/result.json" >"$tmp/report.txt" 2>"$tmp/load.log" &
load=$!
peak_load=0 peak_serve=0
while kill -0 "$load" 2>/dev/null; do
  peak_load=$(( $(tree_hwm "$load") > peak_load ? $(tree_hwm "$load") : peak_load ))
  peak_serve=$(( $(tree_hwm "$serve") > peak_serve ? $(tree_hwm "$serve") : peak_serve ))
  sleep 2
done
rc=0; wait "$load" || rc=$?

# What the serving processes saw: each scrape lands on one process (the
# kernel picks by the connection's addresses), so scrape until every one of
# the P answered, keyed by its X-RTBench-Process header.
python3 - "$PORT" "$P" <<'PY'
import http.client, sys
port, procs = int(sys.argv[1]), int(sys.argv[2])
seen = {}
for _ in range(200 * procs):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", "/metrics")
    r = c.getresponse()
    body = r.read().decode()
    seen[r.getheader("X-RTBench-Process", "-")] = body
    c.close()
    if len(seen) == procs:
        break
acc = 0
for body in seen.values():
    for line in body.splitlines():
        if line.startswith("rtbench_serve_connections_accepted_total"):
            acc += float(line.split()[-1])
print(f"serve: {len(seen)} of {procs} processes scraped · connections accepted {int(acc)} (the scrapes' own included)")
PY

sed -n 1,12p "$tmp/report.txt"
python3 - "$tmp/result.json" "$N" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); n = int(sys.argv[2])
c = r.get("counters", {})
errs = sum(e.get("count", 0) for e in (r.get("errors") or {}).values())
print(f"sessions meant {n} · started {c.get('sessions_started')} · connected {c.get('connects')} · "
      f"reconnects {c.get('reconnects')} · events {c.get('events')} · lost {c.get('lost')} · errors {errs}")
PY
echo "peak RSS: load (all agents) $(( peak_load / 1024 )) MiB · serve (all processes) $(( peak_serve / 1024 )) MiB · $(( peak_load / N )) KiB per session on the load side"
echo "load exit $rc"
