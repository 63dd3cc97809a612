#!/usr/bin/env bash
# Calibration: run rtbench against bench/calib, a server whose latencies are
# known because it injects them (and records each delay it applied), and
# print, per case, the truth and rtbench's figure at p50/p90/p99, the error,
# the loopback cost (the same quantile of a run against a zero delay) and the
# error beyond it. Targets: within ±1 % at p50 and ±5 % at p99 beyond the
# loopback cost. Then a generator stall (rtbench stopped with SIGSTOP for
# STALL_MS) must make the run saturated.
#
#   bash bench/scripts/calibrate.sh            # D=10 seconds per case
#   D=30 RATE=200 bash bench/scripts/calibrate.sh
#
# The request cases run again through `calib ref`, a minimal Go open-model
# client, in the same run: its error is what the platform costs any client.
#
# Loopback only, bounded in time (about 12 × D seconds). docs/calibration.md
# holds a table this script printed, with the machine it ran on.
set -euo pipefail
D=${D:-10}
RATE=${RATE:-200}
PORT=${PORT:-18097}
STALL_MS=${STALL_MS:-168}
source "$(dirname "$0")/lib.sh" # the repository as working directory, $tmp, cleanup on exit

build_rtbench
go build -o "$tmp/calib" ./bench/calib
"$tmp/calib" serve -addr "127.0.0.1:$PORT" 2>"$tmp/calib.log" &
base="http://127.0.0.1:$PORT"
for _ in $(seq 50); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done

load() { # name, then rtbench load arguments
	local name=$1; shift
	curl -sf "$base/reset" >/dev/null
	"$tmp/rtbench" load --out "$tmp/$name.json" --json "$@" >/dev/null 2>"$tmp/$name.log" || {
		echo "rtbench load failed for $name:" >&2; cat "$tmp/$name.log" >&2; exit 1; }
}
refrun() { # name, URL: the reference client (a minimal Go open-model client) in the same run
	curl -sf "$base/reset" >/dev/null
	"$tmp/calib" ref -url "$2" -rate "$RATE" -d "${D}s" -out "$tmp/$1.json"
}
refrow() { # label, truth route, result
	"$tmp/calib" compare -label "$1" -truth "$base/truth?route=$2" -result "$tmp/$3.json" -metric request -loopback "$tmp/ref-loopback.json"
}
row() { # label, truth route, result, metric
	"$tmp/calib" compare -label "$1" -truth "$base/truth?route=$2" -result "$tmp/$3.json" -metric "$4" -loopback "$tmp/loopback.json"
}

echo "rtbench $(git describe --always --dirty 2>/dev/null || echo dev) · $(go version | cut -d' ' -f3) · $(nproc) CPUs · $(uname -sr) · $(date -u +%Y-%m-%dT%H:%MZ) · load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "open model --rate $RATE/s for ${D}s per request case; AI: -c 4 for ${D}s"
echo
echo "| case | quantile | values (rtbench / truth) | truth ms | rtbench ms | error | loopback ms | error beyond loopback | target | rtbench self-check p99.9 ms |"
echo "|---|---|---|---|---|---|---|---|---|---|"
load loopback --mode poll --rate "$RATE/s" -d "${D}s" "$base/fixed?d=0s"
"$tmp/calib" compare -no-target -label "loopback (d=0)" -truth "$base/truth?route=fixed" -result "$tmp/loopback.json" -metric request
load fixed --mode poll --rate "$RATE/s" -d "${D}s" "$base/fixed?d=20ms"
row "fixed 20 ms" fixed fixed request
load bimodal --mode poll --rate "$RATE/s" -d "${D}s" "$base/bimodal?fast=5ms&slow=50ms&every=10"
row "bimodal 5/50 ms, 1 in 10 slow" bimodal bimodal request
load stall --mode poll --rate "$RATE/s" -d "${D}s" "$base/stall?base=2ms&period=2s&for=200ms"
row "stalls of 200 ms every 2 s (open model)" stall stall request
body='{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}'
load ai --mode ai -c 4 -d "${D}s" --data "$body" "$base/v1/chat/completions?ttft=200ms&itl=20ms&n=20"
row "AI ttft 200 ms" ttft ai ttft
# tpot is a difference of two arrival times: no loopback cost in it.
"$tmp/calib" compare -label "AI tpot 20 ms" -truth "$base/truth?route=tpot" -result "$tmp/ai.json" -metric tpot
row "AI e2e 580 ms" e2e ai e2e
# The same request cases through the reference client: what any Go client
# measures beyond the truth on this machine.
refrun ref-loopback "$base/fixed?d=0s"
"$tmp/calib" compare -no-target -label "reference: loopback (d=0)" -truth "$base/truth?route=fixed" -result "$tmp/ref-loopback.json" -metric request
refrun ref-fixed "$base/fixed?d=20ms"
refrow "reference: fixed 20 ms" fixed ref-fixed
refrun ref-bimodal "$base/bimodal?fast=5ms&slow=50ms&every=10"
refrow "reference: bimodal 5/50 ms" bimodal ref-bimodal
refrun ref-stall "$base/stall?base=2ms&period=2s&for=200ms"
refrow "reference: stalls of 200 ms every 2 s" stall ref-stall

# The generator stalled: rtbench stopped for STALL_MS in the middle of a run.
curl -sf "$base/reset" >/dev/null
"$tmp/rtbench" load --mode poll --rate "$RATE/s" -d "${D}s" --out "$tmp/gstall.json" --json \
	--threshold 'request.p99<60s' "$base/fixed?d=1ms" >/dev/null 2>"$tmp/gstall.log" &
pid=$!
sleep $((D / 2))
kill -STOP "$pid"; sleep "$(awk "BEGIN{print $STALL_MS/1000}")"; kill -CONT "$pid"
code=0; wait "$pid" || code=$?
echo
"$tmp/calib" compare -label "generator stopped ${STALL_MS} ms" -truth "$base/truth?route=fixed" -result "$tmp/gstall.json" -metric request >/dev/null
awk -v code="$code" -v ms="$STALL_MS" 'BEGIN{}
	/"saturated":/ {sat=$2}
	/"self_check":/ {sc=1}
	sc && /"p99_9_ms":/ {p=$2; gsub(",","",p)}
	sc && /"max_ms":/ {m=$2; gsub(",","",m); sc=0}
	END {gsub(",","",sat); printf "generator stopped %d ms in a %ss run: saturated %s, self-check p99.9 %s ms, max %s ms; exit %d with --threshold request.p99<60s (1 expected)\n", ms, "'"$D"'", sat, p, m, code}' "$tmp/gstall.json"
