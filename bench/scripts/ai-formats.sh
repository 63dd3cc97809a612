#!/usr/bin/env bash
# Every AI stream format on one token schedule, from two servers: rtbench
# serve and testdata/aipeers/server.js (Node, written without rtbench's
# mock). Both stream TTFT_MS after the request, then a token every ITL_MS,
# REASONING reasoning tokens first, then TOKENS answer tokens. For each
# route, `rtbench load -c C -d D` measures p50 ttfr, ttft and itl_chunk, and
# the script checks each within TOL percent of the schedule:
#   ttfr = TTFT_MS   ttft = TTFT_MS + REASONING × ITL_MS   itl_chunk = ITL_MS
# (the tutorial's /api/chat has no reasoning: its ttft is TTFT_MS). It also
# prints the bytes of one answer delta event on the wire (counters.bytes /
# counters.events: each delta carries one token here, so it is what each
# format spends per token). Exits 1 when a figure is out of tolerance. The Go test TestAIFormatsAgainstPeerAndServe checks the same
# runs for order and lower bounds only: a busy machine's timers make a ±5 %
# bound on a 20 ms gap a benchmark's business, not a unit test's.
#
#   bash bench/scripts/ai-formats.sh
#   TTFT_MS=200 ITL_MS=20 C=2 D=5 TOL=5 bash bench/scripts/ai-formats.sh
set -euo pipefail
TTFT_MS=${TTFT_MS:-200}
ITL_MS=${ITL_MS:-20}
REASONING=${REASONING:-5}
TOKENS=${TOKENS:-20}
C=${C:-2}
D=${D:-5}
TOL=${TOL:-5}
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'exec 7>&- 2>/dev/null || true; kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT

go build -o "$tmp/rtbench" .
tps=$(awk -v i="$ITL_MS" 'BEGIN { printf "%g", 1000 / i }')
"$tmp/rtbench" serve --addr 127.0.0.1:0 --ttft "${TTFT_MS}ms" --tps "$tps" --tokens "$TOKENS" \
  --reasoning-tokens "$REASONING" >"$tmp/serve.out" 2>&1 &
mkfifo "$tmp/peer.in"
node testdata/aipeers/server.js <"$tmp/peer.in" >"$tmp/peer.out" &
exec 7>"$tmp/peer.in"
for _ in $(seq 50); do
  grep -qo '127.0.0.1:[0-9]*' "$tmp/serve.out" 2>/dev/null && grep -q port "$tmp/peer.out" && break
  sleep 0.1
done
serve="http://$(grep -o '127.0.0.1:[0-9]*' "$tmp/serve.out" | head -1)"
peer="http://127.0.0.1:$(jq -r .port <"$tmp/peer.out")"
q="ttft=$TTFT_MS&itl=$ITL_MS&reasoning=$REASONING&tokens=$TOKENS"
chat='{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}'

routes=(
  "peer  $peer/openai/responses?$q                              {\"input\":\"hi\",\"stream\":true}"
  "peer  $peer/openai/chat?$q                                   $chat"
  "peer  $peer/anthropic/messages?$q                            $chat"
  "peer  $peer/ai-sdk/ui?$q                                     {\"messages\":[]}"
  "peer  $peer/ai-sdk/data?$q                                   {\"messages\":[]}"
  "peer  $peer/gemini/models/m:streamGenerateContent?alt=sse&$q {\"contents\":[]}"
  "peer  $peer/ollama/api/chat?$q                               $chat"
  "serve $serve/v1/responses                                    {\"input\":\"hi\",\"stream\":true}"
  "serve $serve/v1/chat/completions                             $chat"
  "serve $serve/v1/messages                                     $chat"
  "serve $serve/api/ai-sdk/ui                                   {\"messages\":[]}"
  "serve $serve/api/ai-sdk/data                                 {\"messages\":[]}"
  "serve $serve/v1beta/models/m:streamGenerateContent?alt=sse   {\"contents\":[{\"parts\":[{\"text\":\"hi\"}]}]}"
  "serve $serve/ollama/api/chat                                 $chat"
  "serve $serve/api/chat                                        {\"messages\":[]}"
)

echo "ai-formats: $(go version | cut -d' ' -f3), $(nproc) CPUs; schedule ttft ${TTFT_MS}ms, itl ${ITL_MS}ms, $REASONING reasoning + $TOKENS answer tokens; load -c $C -d ${D}s; tolerance ${TOL}%"
printf '%-5s %-40s %9s %9s %9s %8s  %s\n' from path ttfr_p50 ttft_p50 itl_p50 B/delta verdict
bad=0
for r in "${routes[@]}"; do
  read -r from url body <<<"$r"
  out="$tmp/r.json"
  "$tmp/rtbench" load -c "$C" -d "${D}s" --out "$out" --data "$body" "$url" >/dev/null 2>"$tmp/load.err" || {
    echo "$from $url: load failed: $(tail -1 "$tmp/load.err")"; bad=1; continue; }
  reasoning=$REASONING
  [[ $url == "$serve/api/chat" ]] && reasoning=0
  line=$(jq -r --argjson sttft "$TTFT_MS" --argjson sitl "$ITL_MS" --argjson r "$reasoning" --argjson tol "$TOL" '
    def within(v; want): (v != null) and ((v - want) | fabs) <= want * $tol / 100;
    def show(v): if v == null then "-" else (v * 100 | round / 100 | tostring) end;
    (.metrics.ttfr.p50_ms // null) as $ttfr | (.metrics.ttft.p50_ms // null) as $ttft | (.metrics.itl_chunk.p50_ms // null) as $itl
    | ([ (if $r > 0 then within($ttfr; $sttft) else $ttfr == null end), within($ttft; $sttft + $r * $sitl), within($itl; $sitl) ] | all) as $ok
    | "\(show($ttfr)) \(show($ttft)) \(show($itl)) \(if .counters.events > 0 then (.counters.bytes / .counters.events | round) else "-" end) \(if $ok then "ok" else "OUT" end)"' "$out")
  read -r ttfr ttft itl bpd verdict <<<"$line"
  path=${url#http://127.0.0.1:*/}
  path=${path%%\?*}
  printf '%-5s %-40s %9s %9s %9s %8s  %s\n' "$from" "/$path" "$ttfr" "$ttft" "$itl" "$bpd" "$verdict"
  [ "$verdict" = ok ] || bad=1
done
exit "$bad"
