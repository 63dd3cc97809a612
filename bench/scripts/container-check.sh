#!/usr/bin/env bash
# Builds rtbench's container image as the release does and checks it, on a
# machine with a container engine (CI cannot run one: see docs/release.md).
#   1. Cross-builds the linux binary with the release's flags into a build
#      context laid out as goreleaser's dockers_v2 lays it (linux/<arch>/rtbench)
#      and builds .ci/Dockerfile with buildx for that platform.
#   2. The image's configuration: Entrypoint ["/rtbench"], User nonroot (65532).
#   3. `docker run IMAGE version` prints the platform; `docker run IMAGE serve`
#      answers /healthz through -p, its process runs as uid 65532 (docker top),
#      and `docker stop` (SIGTERM to the entrypoint) ends it with exit 0.
# It leaves nothing behind: the image and container are removed at the end.
#   bench/scripts/container-check.sh [ARCH]     ARCH: amd64 (default) or arm64
#   DOCKER=podman bench/scripts/container-check.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
arch=${1:-amd64}
docker=${DOCKER:-docker}
image=rtbench-container-check:$arch-$$
ctx=$(mktemp -d)
cid=
fail() { echo "container-check: FAIL: $*" >&2; exit 1; }
cleanup() {
  [ -z "$cid" ] || "$docker" rm -f "$cid" >/dev/null 2>&1 || true
  "$docker" image rm -f "$image" >/dev/null 2>&1 || true
  rm -rf "$ctx"
}
trap cleanup EXIT

mkdir -p "$ctx/linux/$arch"
commit=$(git rev-parse --short HEAD)
CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath \
  -ldflags "-s -w -X main.version=container-check -X main.commit=$commit -X main.date=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  -o "$ctx/linux/$arch/rtbench" .
cp .ci/Dockerfile "$ctx/Dockerfile"
echo "container-check: building $image for linux/$arch"
if "$docker" buildx version >/dev/null 2>&1; then
  "$docker" buildx build --platform "linux/$arch" --load -t "$image" "$ctx"
else # podman, or docker without buildx
  "$docker" build --platform "linux/$arch" -t "$image" "$ctx"
fi

entry=$("$docker" image inspect -f '{{json .Config.Entrypoint}}' "$image")
user=$("$docker" image inspect -f '{{.Config.User}}' "$image")
echo "container-check: entrypoint $entry, user $user"
[ "$entry" = '["/rtbench"]' ] || fail "entrypoint $entry, want [\"/rtbench\"]"
case "$user" in nonroot | nonroot:nonroot | 65532 | 65532:65532) ;; *) fail "user '$user', want nonroot (65532)" ;; esac

out=$("$docker" run --rm --platform "linux/$arch" "$image" version)
echo "$out"
grep -q "^platform  *linux/$arch\$" <<<"$out" || fail "rtbench version in the image does not say linux/$arch"
grep -q "^commit  *$commit\$" <<<"$out" || fail "rtbench version in the image does not say commit $commit"

cid=$("$docker" run -d --platform "linux/$arch" -p 127.0.0.1::8080 "$image" serve --addr 0.0.0.0:8080 --allow-remote)
port=$("$docker" port "$cid" 8080/tcp | head -n 1 | sed 's/.*://')
[ -n "$port" ] || fail "no port published for 8080"
ok=
for _ in $(seq 50); do # up to 10 s for the server to start
  if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then ok=1; break; fi
  sleep 0.2
done
[ -n "$ok" ] || { "$docker" logs "$cid"; fail "serve did not answer /healthz on 127.0.0.1:$port"; }
uid=$("$docker" top "$cid" -o uid | awk 'NR == 2 {print $1}')
[ "$uid" = 65532 ] || fail "serve runs as uid '$uid', want 65532 (nonroot)"
"$docker" stop -t 10 "$cid" >/dev/null
code=$("$docker" inspect -f '{{.State.ExitCode}}' "$cid")
[ "$code" = 0 ] || { "$docker" logs "$cid"; fail "serve exited $code after SIGTERM, want 0 (graceful shutdown)"; }
echo "container-check: OK: linux/$arch image runs rtbench as uid 65532; serve answered and stopped cleanly on SIGTERM"
