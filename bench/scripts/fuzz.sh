#!/usr/bin/env bash
# Runs every native fuzz target of rtbench, one after the other, for FUZZTIME
# each, and prints per target the execs, the execs per second, the new
# interesting inputs and the result. Exits non-zero when a target fails: a
# crasher is left in the package's testdata/fuzz/FuzzX/ by the fuzzer, to be
# fixed and committed as a regression seed (plain `go test` replays it).
#
#   FUZZTIME=30s bash bench/scripts/fuzz.sh                  # CI
#   FUZZTIME=5m FUZZPARALLEL=1 bash bench/scripts/fuzz.sh    # the figures in docs/BENCHMARKS.md
#   FUZZONLY=FuzzDecode FUZZTIME=1m bash bench/scripts/fuzz.sh
#
# FUZZTIME      -fuzztime per target (a duration, or Nx for N execs); default 30s
# FUZZPARALLEL  fuzzing workers (-parallel); default 2
# FUZZMINIMIZE  -fuzzminimizetime; default 5s (Go's 60s lets targets with big
#               inputs spend most of a short run minimizing them)
# FUZZONLY      an extended regexp: only the targets whose name matches
# FUZZLOGS      where each target's full output goes; default a temporary directory
#
# Go 1.26's fuzz coordinator can fail a target that found nothing with a bare
# "context deadline exceeded" as -fuzztime ends (golang/go#75804, fixed in Go
# 1.27). Such a run wrote no crasher: the script replays the target's seed
# corpus and, when that passes, counts the run as ok (marked "ok, go#75804").
set -euo pipefail
cd "$(dirname "$0")/../.."

# The targets: name and package. This is the only list.
TARGETS=(
  "FuzzParser          ./transport/sse"       # SSE stream parser vs the WHATWG steps
  "FuzzChunked         ./transport/sse"       # lean SSE in-place chunked decoding vs net/http's chunked reader
  "FuzzCount           ./bench/floor"         # floor reader's message counters: same count however split
  "FuzzLeanResponse    ./transport/poll"      # lean polling path's HTTP/1.x response reader vs net/http
  "FuzzChunk           ./transport/aistream"  # AI chunk decoder vs encoding/json
  "FuzzResponsesChunk  ./transport/aistream"  # OpenAI Responses events vs encoding/json
  "FuzzUIChunk         ./transport/aistream"  # AI SDK UI message stream parts vs encoding/json
  "FuzzDataStreamLine  ./transport/aistream"  # AI SDK data stream lines vs encoding/json
  "FuzzGeminiChunk     ./transport/aistream"  # Gemini streamGenerateContent chunks vs encoding/json
  "FuzzOllamaChunk     ./transport/aistream"  # Ollama NDJSON lines vs encoding/json
  "FuzzLineReader      ./transport/aistream"  # NDJSON / data stream line framing vs a whole-input split
  "FuzzWSMessage       ./transport/ws"        # lean RFC 6455 client vs a reference reader
  "FuzzWSEcho          ./transport/ws"        # echo stamp and ping number readers vs strconv
  "FuzzCloseGuard      ./transport/ws"        # the server's close-frame guard: every byte passes, frames split anywhere
  "FuzzParseThreshold  ./bench"               # --threshold grammar: round trip, opposite verdicts
  "FuzzFlagValues      ./cmd"                 # --rate, --stages, --ramp: range and round trip
  "FuzzDecode          ./bench"               # result files: round trip, merge with itself
  "FuzzParseRegression ./bench"               # diff --fail-if: no panic, errors quote the input, verdicts opposite
  "FuzzProgressLine    ./bench"               # --procs agent progress lines: no panic, round trip
  "FuzzParseChatMark   ./bench"               # compare chat message marks: no panic, round trip
  "FuzzRedactURL       ./transport"           # URL secrets: none survives, redaction idempotent
  "FuzzVisible         ./report"              # terminal text: no control byte reaches a terminal
  "FuzzParse           ./transport/bounds"    # serve's rates and intervals: bounds hold, no overflow
  "FuzzParseStamp      ./transport"           # payload stamps and clocks vs encoding/json, math/big, time.Parse
  "FuzzParseStampSpec  ./transport"           # --stamp: errors name the flag, round trip, path reads vs the oracle
  "FuzzParseSendTemplate ./transport"         # --send templates: plain text verbatim, errors quote the action
  "FuzzPusherFrame     ./transport/pusher"    # Pusher protocol messages vs encoding/json; the hub's data mapping round trips
  "FuzzPusherDecodeFast ./transport/pusher"   # the fast path for Pusher frames reads what encoding/json reads, to the same Frame
  "FuzzProtocolMessage ./transport/ably"      # Ably frames, JSON and MessagePack: no panic, stable re-encoding, hub round trip
  "FuzzScenario        ./bench/flow"          # scenario files: no panic, step names and indexes agree
  "FuzzDecodeJSONFast  ./transport/ably"      # the fast JSON path for Ably frames decodes what encoding/json decodes, to the same value
  "FuzzValue           ./transport/internal/jsonscan" # the shared validating JSON scanner vs json.Valid, json.Unmarshal and json.Compact
  "FuzzRelayMember     ./transport/pubsub"    # serve --procs hub relay: any stream, kept messages contiguous and counted
  "FuzzSplitK8sArgs    ./cmd"                 # k8s job's own flags vs load's, values never taken for flags
)

FUZZTIME=${FUZZTIME:-30s}
FUZZPARALLEL=${FUZZPARALLEL:-2}
FUZZMINIMIZE=${FUZZMINIMIZE:-5s}
FUZZONLY=${FUZZONLY:-}
logs=${FUZZLOGS:-$(mktemp -d)}
mkdir -p "$logs"

# seconds reads a Go duration such as 5m0s, 31.2s or 1h0m0s as whole seconds.
seconds() {
  awk -v d="$1" 'BEGIN {
    s = 0
    while (match(d, /^[0-9.]+(h|ms|m|s)/)) {
      part = substr(d, 1, RLENGTH); d = substr(d, RLENGTH + 1)
      n = part + 0; u = part; sub(/^[0-9.]+/, "", u)
      s += (u == "h") ? n * 3600 : (u == "m") ? n * 60 : (u == "ms") ? n / 1000 : n
    }
    printf "%d", s
  }'
}

# The test binary's -timeout: the fuzzing time plus 10 minutes for building,
# the baseline corpus and a final minimization; an hour for a count (Nx).
case "$FUZZTIME" in
  *x) timeout=3600s ;;
  *) timeout=$(( $(seconds "$FUZZTIME") + 600 ))s ;;
esac

echo "fuzz: $(go version | cut -d' ' -f3-), $(nproc) CPUs, -fuzztime $FUZZTIME -parallel $FUZZPARALLEL -fuzzminimizetime $FUZZMINIMIZE; logs in $logs"
printf '%-19s %-21s %8s %11s %8s %5s %7s  %s\n' target package elapsed execs execs/s new corpus result
failed=0
for entry in "${TARGETS[@]}"; do
  read -r name pkg _ <<<"$entry"
  if [ -n "$FUZZONLY" ] && ! [[ $name =~ $FUZZONLY ]]; then
    continue
  fi
  log="$logs/$name.log"
  set +e
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$FUZZMINIMIZE" \
    -parallel "$FUZZPARALLEL" -timeout "$timeout" "$pkg" >"$log" 2>&1
  rc=$?
  set -e
  # The last progress line: fuzz: elapsed: 5m0s, execs: 123 (41/sec), new interesting: 7 (total: 60)
  last=$(grep -E '^fuzz: elapsed: .*execs: ' "$log" | tail -n 1 || true)
  elapsed=$(sed -nE 's/^fuzz: elapsed: ([^,]+),.*/\1/p' <<<"$last")
  execs=$(sed -nE 's/.*execs: ([0-9]+) .*/\1/p' <<<"$last")
  new=$(sed -nE 's/.*new interesting: ([0-9]+) .*/\1/p' <<<"$last")
  corpus=$(sed -nE 's/.*\(total: ([0-9]+)\).*/\1/p' <<<"$last")
  secs=$(seconds "${elapsed:-0s}")
  rate=-
  if [ -n "$execs" ] && [ "$secs" -gt 0 ]; then
    rate=$(( execs / secs ))
  fi
  crasher=$(sed -nE 's/.*Failing input written to (.*)$/\1/p' "$log" | tail -n 1)
  bad=0
  if [ "$rc" -eq 0 ]; then
    result=ok
  elif [ -n "$crasher" ]; then
    result="CRASHER: $pkg/$crasher (reproduce: go test -run '$name/$(basename "$crasher")' $pkg)"
    bad=1
  elif grep -q 'context deadline exceeded' "$log" && ! grep -qE '^\s+(---|panic:|.*_test\.go:[0-9]+:)' "$log" &&
    go test -run "^${name}\$" -count=1 "$pkg" >>"$log" 2>&1; then
    result="ok, go#75804 (the coordinator's deadline race; seeds replayed)"
  else
    result="FAIL: see $log"
    bad=1
  fi
  printf '%-19s %-21s %8s %11s %8s %5s %7s  %s\n' "$name" "$pkg" "${elapsed:--}" "${execs:--}" "$rate" "${new:--}" "${corpus:--}" "$result"
  if [ "$bad" -ne 0 ]; then
    failed=1
    tail -n 30 "$log" | sed 's/^/    /'
  fi
done
exit "$failed"
