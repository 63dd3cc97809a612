# Sourced by the benchmark scripts here, never run: the repository as the
# working directory, a temporary directory $tmp that is removed on exit
# after every background job is killed, and build_rtbench.
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT

# build_rtbench puts rtbench at $tmp/rtbench: built from this tree, or a
# copy of the binary RTBENCH names (to measure another build; every script
# that builds rtbench honours it).
build_rtbench() {
  if [[ -n ${RTBENCH:-} ]]; then
    cp "$RTBENCH" "$tmp/rtbench"
  else
    go build -o "$tmp/rtbench" .
  fi
}
