#!/usr/bin/env bash
# Concurrent AI token streams: `rtbench load -c C` holds C OpenAI Chat
# Completions streams at once against `rtbench serve`'s
# /v1/chat/completions, each streaming TOKENS tokens at TPS tokens/s (one
# token per chunk) after TTFT; every session asks again as soon as its
# stream ends (closed model), so C streams are in flight all the time. REPS
# runs, started on a ramp of RAMP sessions/s.
#
# Per run it prints, over a WINDOW of seconds that starts WARM s after the
# ramp: the tokens delivered per second (chunks counted in the result's
# per-second intervals; one token per chunk, plus each stream's role chunk,
# usage chunk and [DONE], ~1 % at 250 tokens) beside the TPS × C the schedule
# offers while streams stream (less the ttft gap between streams), and the
# CPU per delivered token of the client and of the server (user+system from
# /proc/PID/stat in the window: the requests' set-up included), with their
# RSS; then the ttft and itl_chunk percentiles after the warmup and the
# errors. Then medians of the REPS runs (min–max).
#
#   bash bench/scripts/ai-streams.sh               # C=2000 TPS=50 TOKENS=250 WINDOW=20 REPS=3
#   C=200 WINDOW=5 REPS=1 bash bench/scripts/ai-streams.sh
#
# Loopback only, bounded in time (load's own -d; the server is stopped after each run).
set -euo pipefail
C=${C:-2000}
TPS=${TPS:-50}
TOKENS=${TOKENS:-250}
TTFT=${TTFT:-200ms}
RAMP=${RAMP:-500}
WARM=${WARM:-5}      # seconds after the ramp before the window
WINDOW=${WINDOW:-20} # seconds measured
REPS=${REPS:-3}
PORT=${PORT:-18150}
source "$(dirname "$0")/lib.sh" # the repository as working directory, $tmp, cleanup on exit

build_rtbench
tck=$(getconf CLK_TCK)
W=$(( (C + RAMP - 1) / RAMP + WARM ))
D=$(( W + WINDOW + 1 ))
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
body='{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}'

declare -A F
echo "$C streams × $TPS tokens/s ($TOKENS tokens each, ttft $TTFT), ramp ${RAMP}/s, window ${WINDOW}s after ${W}s; $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo))"
for rep in $(seq "$REPS"); do
  port=$(( PORT + rep ))
  "$tmp/rtbench" serve --addr "127.0.0.1:$port" --max-conns 0 --ttft "$TTFT" --tps "$TPS" --tokens "$TOKENS" 2>"$tmp/serve.log" &
  serve=$!
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  la0=$(cut -d' ' -f1 /proc/loadavg)
  "$tmp/rtbench" load -c "$C" --ramp "${RAMP}/s" -d "${D}s" --warmup "${W}s" --data "$body" \
    "http://127.0.0.1:$port/v1/chat/completions" --out "$tmp/r.json" >/dev/null 2>"$tmp/load.err" &
  lp=$!
  sleep "$W"
  s0=$(ticks "$serve"); c0=$(ticks "$lp")
  sleep "$WINDOW"
  s1=$(ticks "$serve"); c1=$(ticks "$lp"); s_rss=$(rss_kib "$serve"); c_rss=$(rss_kib "$lp")
  rc=0; wait "$lp" || rc=$?
  la1=$(cut -d' ' -f1 /proc/loadavg)
  kill -TERM "$serve"; wait "$serve" || true
  read -r tps_got ttft50 ttft99 itl50 itl99 errs cli srv line < <(python3 - "$tmp/r.json" $(( c1 - c0 )) $(( s1 - s0 )) "$tck" "$W" "$WINDOW" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); cli, srv, hz, w, n = map(int, sys.argv[2:7])
c, m = r["counters"], r["metrics"]
chunks = sum(i["events"] for i in r["intervals"] if w <= i["t_s"] < w + n) or 1
errs = sum(e.get("count", 0) for e in (r.get("errors") or {}).values())
t, i = m.get("ttft", {}), m.get("itl_chunk", {})
print(f"{chunks / n:.0f} {t.get('p50_ms', 0):.1f} {t.get('p99_ms', 0):.1f} {i.get('p50_ms', 0):.2f} {i.get('p99_ms', 0):.2f} "
      f"{errs} {cli / hz * 1e6 / chunks:.2f} {srv / hz * 1e6 / chunks:.2f} requests={c['requests']},tokens={c['tokens']},saturated={r['saturated']}")
PY
)
  echo "rep $rep (load exit $rc; load average $la0 → $la1): $tps_got tokens/s of $(( C * TPS )) offered · ttft p50 $ttft50 p99 $ttft99 ms · itl_chunk p50 $itl50 p99 $itl99 ms · errors $errs · µs CPU/token client $cli server $srv · RSS client $(( c_rss / 1024 )) server $(( s_rss / 1024 )) MiB · $line"
  F[tps]+="$tps_got "; F[ttft50]+="$ttft50 "; F[ttft99]+="$ttft99 "; F[itl50]+="$itl50 "; F[itl99]+="$itl99 "
  F[cli]+="$cli "; F[srv]+="$srv "; F[errs]+="$errs "
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2; printf "%s (%s–%s)", m, v[1], v[NR]}'; }
echo "medians of $REPS (min–max):"
for k in tps ttft50 ttft99 itl50 itl99 cli srv errs; do
  printf '  %-7s %s\n' "$k" "$(echo "${F[$k]}" | median)"
done
echo "  (tps: tokens/s delivered; ttft/itl in ms; cli/srv: µs of CPU per token)"
