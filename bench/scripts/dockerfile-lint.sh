#!/usr/bin/env bash
# Validates the container image's Dockerfile without a container engine:
#   1. dockerfile-utils (npm; pinned by .ci/dockerfile-lint/package-lock.json,
#      the linter of the VS Code Docker extension) finds syntax and semantic
#      errors: bad instructions, missing arguments, bad flags.
#   2. What rtbench's image promises, read from the Dockerfile and
#      .goreleaser.yaml: the file goreleaser's dockers_v2 uses is this one; the
#      base image is pinned to a tag (never latest); the last USER is not root;
#      the ENTRYPOINT is the exec (JSON) form of /rtbench; the binary is copied
#      from ${TARGETPLATFORM}/rtbench, where dockers_v2 puts it.
# What only a built image shows (it runs, as non-root) is checked by
# bench/scripts/container-check.sh on a machine with Docker.
#   bench/scripts/dockerfile-lint.sh [DOCKERFILE]
set -euo pipefail
cd "$(dirname "$0")/../.."
df=${1:-.ci/Dockerfile}
fail() { echo "dockerfile-lint: FAIL: $df: $*" >&2; exit 1; }

lint=.ci/dockerfile-lint
if [ ! -x "$lint/node_modules/.bin/dockerfile-utils" ]; then
  npm ci --prefix "$lint" --no-audit --no-fund --silent >/dev/null
fi
"$lint/node_modules/.bin/dockerfile-utils" lint "$df" || fail "dockerfile-utils found problems (above)"

if [ "$df" = .ci/Dockerfile ]; then
  grep -q '^ *dockerfile: \.ci/Dockerfile$' .goreleaser.yaml || fail ".goreleaser.yaml's dockers_v2 does not build this file"
fi
# Instructions, with continuation lines joined and comments dropped.
instr=$(sed -e '/^[[:space:]]*#/d' -e '/^[[:space:]]*$/d' "$df" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta')
from=$(awk 'toupper($1)=="FROM" {print $2}' <<<"$instr" | tail -n 1)
case "$from" in
  *@sha256:*) ;;
  *:latest | "") fail "FROM '$from': pin the base image to a tag or digest" ;;
  */*:* | *:*) ;;
  *) fail "FROM '$from': pin the base image to a tag or digest" ;;
esac
user=$(awk 'toupper($1)=="USER" {print $2}' <<<"$instr" | tail -n 1)
case "${user%%:*}" in
  "") fail "no USER: the image would run as root" ;;
  root | 0) fail "USER $user: the image must not run as root" ;;
esac
entry=$(awk 'toupper($1)=="ENTRYPOINT" {$1=""; print substr($0, 2)}' <<<"$instr" | tail -n 1)
[ "$entry" = '["/rtbench"]' ] || fail "ENTRYPOINT $entry: want [\"/rtbench\"] (exec form, so signals reach rtbench)"
grep -Eq '^COPY +\$\{?TARGETPLATFORM\}?/rtbench +/rtbench$' <<<"$instr" ||
  fail "want 'COPY \${TARGETPLATFORM}/rtbench /rtbench' (where goreleaser's dockers_v2 puts the binaries)"
echo "dockerfile-lint: $df OK (base $from, user $user, entrypoint $entry)"
