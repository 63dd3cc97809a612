#!/usr/bin/env bash
# Peer measurement for scale.sh: k6 (installed by bench/peers.sh with
# `go install`, never committed) holding N WebSocket connections to rtbench serve's /ws at
# 1 event/s for D seconds, with its RSS per connection measured the same way
# as scale.sh measures rtbench (steady RSS minus the one-VU footprint).
#
#   N=2000 D=20 bash bench/scripts/peer-k6-ws.sh
set -euo pipefail
N=${N:-10000}
D=${D:-60}
PORT=${PORT:-18095}
source "$(dirname "$0")/lib.sh" # the repository as working directory, $tmp, cleanup on exit
. bench/peers.sh k6 # go install into a directory of its own, never committed
command -v k6 >/dev/null || { echo "k6 did not install" >&2; exit 1; }
build_rtbench
"$tmp/rtbench" serve --addr "127.0.0.1:$PORT" --max-conns 0 2>/dev/null &
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
cat > "$tmp/ws.js" <<'JS'
import ws from 'k6/ws';
const d = parseInt(__ENV.D);
export const options = { scenarios: { hold: { executor: 'constant-vus', vus: parseInt(__ENV.N), duration: d + 's', gracefulStop: '5s' } } };
export default function () {
  ws.connect(__ENV.URL, {}, function (socket) {
    socket.on('message', () => {});
    socket.setTimeout(() => socket.close(), (d + 5) * 1000);
  });
}
JS
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
url="ws://127.0.0.1:$PORT/ws?rate=1"
N=1 D=3 URL=$url k6 run -q "$tmp/ws.js" >/dev/null 2>&1 &
pid=$!; sleep 2; base=$(rss_kib $pid); wait $pid || true
N=$N D=$D URL=$url k6 run -q "$tmp/ws.js" >"$tmp/k6.out" 2>&1 &
pid=$!
steady=0
for s in $(seq "$D"); do
  sleep 1
  [ "$s" -eq $(( D > 20 ? D - 5 : D - 2 )) ] && steady=$(rss_kib $pid)
done
wait $pid || true
echo "peer k6 $(k6 version | head -1 | awk '{print $2}'): $N WebSocket VUs for ${D}s"
echo "  k6 RSS: one VU $base KiB; with $N VUs steady $steady KiB"
echo "  per connection: $(( (steady - base) / N )) KiB steady"
grep -E "ws_sessions|ws_msgs_received|checks" "$tmp/k6.out" | sed 's/^/  /' || true
