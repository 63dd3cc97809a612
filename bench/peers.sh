#!/usr/bin/env bash
# Installs the peer tools the comparison scripts measure rtbench against,
# from the registries this machine reaches; their code is never committed:
#   wrk, hey          Debian packages (apt-get)
#   vegeta, k6        `go install` into $PEERS_DIR/bin (a GOBIN of its own)
#   autocannon,       npm, into $PEERS_DIR/npm (exact versions below)
#   artillery
# A tool that fails to install is reported and skipped: the scripts measure
# the ones present.
#
# Run it, or source it from a script to get the tools on PATH:
#   bash bench/peers.sh                  # everything
#   . bench/peers.sh wrk hey vegeta      # some, and PATH set in this shell
# PEERS_DIR defaults to ${TMPDIR:-/tmp}/rtbench-peers, so the builds are
# kept between runs; delete it to start over.
PEERS_DIR=${PEERS_DIR:-${TMPDIR:-/tmp}/rtbench-peers}
VEGETA_VERSION=${VEGETA_VERSION:-v12.13.0}
K6_VERSION=${K6_VERSION:-v1.8.1}
AUTOCANNON_VERSION=${AUTOCANNON_VERSION:-8.0.0}
ARTILLERY_VERSION=${ARTILLERY_VERSION:-2.0.34}

mkdir -p "$PEERS_DIR/bin" "$PEERS_DIR/npm"
export PATH="$PEERS_DIR/bin:$PEERS_DIR/npm/node_modules/.bin:$PATH"

peers_warn() { echo "peers.sh: $*" >&2; }

peers_apt() {
  command -v "$1" >/dev/null && return 0
  apt-get install -y "$1" >/dev/null 2>&1 ||
    { apt-get update >/dev/null 2>&1 && apt-get install -y "$1" >/dev/null 2>&1; } ||
    peers_warn "$1: apt-get install failed; skipped"
}

peers_go() { # name module@version
  [ -x "$PEERS_DIR/bin/$1" ] && return 0
  GOBIN="$PEERS_DIR/bin" GOFLAGS=-mod=mod go install "$2" 2>"$PEERS_DIR/$1.log" ||
    peers_warn "$1: go install $2 failed (see $PEERS_DIR/$1.log); skipped"
}

peers_npm() { # name package@version
  [ -x "$PEERS_DIR/npm/node_modules/.bin/$1" ] && return 0
  command -v npm >/dev/null || { peers_warn "$1: npm is not installed; skipped"; return 0; }
  npm install --prefix "$PEERS_DIR/npm" --no-audit --no-fund --silent "$2" >"$PEERS_DIR/$1.log" 2>&1 ||
    peers_warn "$1: npm install $2 failed (see $PEERS_DIR/$1.log); skipped"
}

peers_install() {
  local t
  for t in "$@"; do
    case $t in
      wrk | hey) peers_apt "$t" ;;
      vegeta) peers_go vegeta "github.com/tsenart/vegeta/v12@$VEGETA_VERSION" ;;
      k6) peers_go k6 "go.k6.io/k6@$K6_VERSION" ;;
      autocannon) peers_npm autocannon "autocannon@$AUTOCANNON_VERSION" ;;
      artillery) peers_npm artillery "artillery@$ARTILLERY_VERSION" ;;
      *) peers_warn "unknown peer $t" ;;
    esac
  done
}

if [ $# -eq 0 ]; then
  set -- wrk hey vegeta k6 autocannon artillery
fi
peers_install "$@"
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  for t in "$@"; do
    if command -v "$t" >/dev/null; then echo "$t: $(command -v "$t")"; else echo "$t: missing"; fi
  done
  echo "export PATH=\"$PEERS_DIR/bin:$PEERS_DIR/npm/node_modules/.bin:\$PATH\""
fi
