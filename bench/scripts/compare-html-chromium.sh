#!/usr/bin/env bash
# Headless-Chromium check of `rtbench compare --html`: builds rtbench, runs a
# small comparison, loads the page in Debian's chromium and checks that it
# logged no console errors and that its SVG charts rendered with data; saves
# a screenshot next to the page.
#   bench/scripts/compare-html-chromium.sh [OUTDIR]   (installs chromium as root when missing)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-$(mktemp -d)}
mkdir -p "$out"
if ! command -v chromium >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
go build -o "$out/rtbench" .
"$out/rtbench" compare -c 10 --updates 5 -d 1s --poll-interval 500ms --ai-streams 3 --ai-tokens 16 \
  --html "$out/compare.html" >"$out/compare.txt"
flags=(--headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking --user-data-dir="$out/profile")
# The DOM after load, and the console (chromium logs console messages on stderr with --enable-logging).
chromium "${flags[@]}" --enable-logging=stderr --v=0 --dump-dom "file://$out/compare.html" >"$out/dom.html" 2>"$out/console.log" || true
chromium "${flags[@]}" --window-size=1200,2400 --screenshot="$out/compare.png" "file://$out/compare.html" >/dev/null 2>&1 || true
fail=0
if grep -E 'CONSOLE\(|Uncaught|console.error' "$out/console.log" | grep -v 'INFO:CONSOLE.*"\[info\]' >/dev/null; then
  echo "console errors:"; grep -E 'CONSOLE\(|Uncaught' "$out/console.log"; fail=1
fi
svgs=$(grep -o '<svg' "$out/dom.html" | wc -l)
bars=$(grep -o '<rect class="bar"' "$out/dom.html" | wc -l)
lines=$(grep -o '<polyline class="line' "$out/dom.html" | wc -l)
echo "svg: $svgs, histogram bars: $bars, series lines: $lines"
[ "$svgs" -ge 5 ] && [ "$bars" -ge 5 ] && [ "$lines" -ge 2 ] || { echo "charts missing"; fail=1; }
[ -s "$out/compare.png" ] || { echo "no screenshot"; fail=1; }
echo "page: $out/compare.html  screenshot: $out/compare.png"
exit $fail
