#!/usr/bin/env bash
# Builds every release artifact as a release would and tries them:
#   1. goreleaser (the version .ci/run pins) builds the snapshot release without
#      Docker, publishing or signing: all six binaries of .goreleaser.yaml,
#      the archives, the .deb and the .rpm. A target that does not compile
#      fails here. Each binary is checked to be for its GOOS/GOARCH.
#   2. The .deb is installed with dpkg into a throwaway root (never into this
#      machine), and the installed rtbench, `man rtbench-load` and the bash
#      completion are run from where the package put them; then it is removed.
#   3. The .rpm's file list (rpm -qlp) has the same files, and its rtbench runs.
#   4. `go build` in this checkout, without -ldflags, names the commit.
#   5. The linux/arm64 binary runs under qemu-aarch64-static: `version`, and a
#      bounded `listen` (SSE and WebSocket) against the amd64 `rtbench serve`
#      on a free loopback port.
# Installs Debian's dpkg, man-db, rpm and qemu-user-static when missing.
#   bench/scripts/release-check.sh [WORKDIR]    (run as root; goreleaser in PATH)
#   REUSE_DIST=1 bench/scripts/release-check.sh  tries what is in dist/ without building
set -euo pipefail
cd "$(dirname "$0")/../.."
work=${1:-$(mktemp -d)}
mkdir -p "$work"
fail() { echo "release-check: FAIL: $*" >&2; exit 1; }
step() { echo "release-check: $*"; }

need=()
command -v dpkg >/dev/null || need+=(dpkg)
command -v man >/dev/null || need+=(man-db)
command -v rpm >/dev/null || need+=(rpm)
command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
# cobra's bash completion needs bash-completion's helpers, as on a user's machine.
[ -f /usr/share/bash-completion/bash_completion ] || need+=(bash-completion)
if [ ${#need[@]} -gt 0 ]; then
  step "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
command -v goreleaser >/dev/null || fail "goreleaser is not in PATH (.ci/run installs the pinned version)"

# --- 1. the snapshot release
# The before hooks are `go mod tidy`, the test suite (which CI has just run)
# and gendocs; run the gendocs hook alone, exactly as .goreleaser.yaml says it.
hook=$(sed -n 's/^ *- \(go run \. gendocs .*\)$/\1/p' .goreleaser.yaml)
[ -n "$hook" ] || fail ".goreleaser.yaml has no 'go run . gendocs' before hook; update this script"
hook=${hook//'{{ .CommitTimestamp }}'/$(git log -1 --format=%ct)}
step "$hook"
eval "$hook"
if [ -n "${REUSE_DIST:-}" ] && [ -d dist ]; then
  step "REUSE_DIST: trying the artifacts already in dist/ (no build)"
else
  step "goreleaser release --snapshot --clean --skip=before,docker,publish,sign"
  goreleaser release --snapshot --clean --skip=before,docker,publish,sign >"$work/goreleaser.log" 2>&1 ||
    { tail -n 40 "$work/goreleaser.log"; fail "goreleaser release --snapshot (log: $work/goreleaser.log)"; }
fi

targets=$(sed -n 's/^ *goos: \[\(.*\)\]$/\1/p' .goreleaser.yaml | tr -d ' ' | tr , ' ')
arches=$(sed -n 's/^ *goarch: \[\(.*\)\]$/\1/p' .goreleaser.yaml | tr -d ' ' | tr , ' ')
[ -n "$targets" ] && [ -n "$arches" ] || fail "cannot read goos/goarch from .goreleaser.yaml"
n=0
for os in $targets; do
  for arch in $arches; do
    ext=; [ "$os" = windows ] && ext=.exe
    bin=$(find dist -path "dist/rtbench_${os}_${arch}*/rtbench$ext" -type f | head -n 1)
    [ -n "$bin" ] || fail "no $os/$arch binary in dist/"
    info=$(go version -m "$bin")
    grep -q "GOOS=$os\$" <<<"$info" && grep -q "GOARCH=$arch\$" <<<"$info" ||
      fail "$bin is not an $os/$arch build: $(grep -E 'GOOS|GOARCH' <<<"$info" | tr '\n' ' ')"
    printf 'release-check: built %-14s %s (%s bytes)\n' "$os/$arch" "$bin" "$(stat -c %s "$bin")"
    n=$((n + 1))
  done
done
ls dist/*.tar.gz dist/*.zip >/dev/null || fail "no archives in dist/"
step "$n binaries, $(ls dist/*.tar.gz dist/*.zip | wc -l) archives"
deb=$(ls dist/*_amd64.deb 2>/dev/null | head -n 1 || true)
rpm=$(ls dist/*_amd64.rpm 2>/dev/null | head -n 1 || true)
[ -n "$deb" ] || fail "no amd64 .deb in dist/"
[ -n "$rpm" ] || fail "no amd64 .rpm in dist/"
step "packages: $(cd dist && ls *.deb *.rpm | tr '\n' ' ')"
commit=$(git rev-parse --short HEAD)

# What every package must install, and where.
files=(/usr/bin/rtbench /usr/share/man/man1/rtbench.1 /usr/share/man/man1/rtbench-load.1
  /usr/share/bash-completion/completions/rtbench /usr/share/fish/vendor_completions.d/rtbench.fish
  /usr/share/doc/rtbench/README.md)

# --- 2. the .deb, installed with dpkg into a throwaway root
root="$work/debroot"
rm -rf "$root"
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
touch "$root/var/lib/dpkg/status" "$root/var/lib/dpkg/available"
step "dpkg --root $root -i $deb"
dpkg --root="$root" --force-not-root -i "$deb"
dpkg --root="$root" -s rtbench | grep -q '^Status: install ok installed$' || fail "dpkg does not list rtbench as installed"
listed=$(dpkg --root="$root" -L rtbench)
for f in "${files[@]}" /usr/share/zsh/vendor-completions/_rtbench; do
  grep -qx "$f" <<<"$listed" || fail "the .deb does not install $f"
  [ -s "$root$f" ] || fail "$f is empty or missing after dpkg -i"
done
step "the .deb installed: $(tr '\n' ' ' <<<"$listed")"

step "\$ rtbench version   (the installed /usr/bin/rtbench)"
"$root/usr/bin/rtbench" version | tee "$work/deb-version.txt"
grep -q "^commit  *$commit\$" "$work/deb-version.txt" || fail "rtbench version does not name commit $commit"
grep -q "^platform  *linux/amd64\$" "$work/deb-version.txt" || fail "rtbench version: wrong platform"

step "\$ man rtbench-load   (MANPATH=the throwaway root's /usr/share/man)"
MANPATH="$root/usr/share/man" man -w rtbench-load | grep -qx "$root/usr/share/man/man1/rtbench-load.1" ||
  fail "man does not find rtbench-load where the package put it"
MANPATH="$root/usr/share/man" MANWIDTH=80 man rtbench-load >"$work/man.txt" 2>"$work/man.err" ||
  { cat "$work/man.err"; fail "man rtbench-load"; }
head -n 12 "$work/man.txt"
grep -q 'rtbench-load' "$work/man.txt" && grep -q -- '--rate' "$work/man.txt" || fail "man rtbench-load does not show the load command and its flags"

step "bash completion from /usr/share/bash-completion/completions/rtbench: 'rtbench lo<TAB>', 'rtbench load --ra<TAB>'"
complete_words() {
  PATH="$root/usr/bin:$PATH" bash --norc --noprofile -c '
    source /usr/share/bash-completion/bash_completion
    source "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
    fn=$(complete -p rtbench | sed -n "s/.*-F \([^ ]*\) rtbench$/\1/p")
    [ -n "$fn" ] || { echo "no completion function registered for rtbench" >&2; exit 1; }
    "$fn" rtbench "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}" 2>/dev/null # compopt outside readline
    printf "%s\n" "${COMPREPLY[@]}"' bash "$root/usr/share/bash-completion/completions/rtbench" "$@"
}
got=$(complete_words rtbench lo)
echo "  rtbench lo<TAB> -> $got"
[ "$(echo "$got" | awk '{print $1}')" = load ] || fail "bash completion of 'rtbench lo' is not 'load'"
got=$(complete_words rtbench load --ra)
echo "  rtbench load --ra<TAB> -> $got"
grep -q -- '--rate' <<<"$got" || fail "bash completion of 'rtbench load --ra' does not offer --rate"

dpkg --root="$root" --force-not-root -r rtbench >/dev/null
[ ! -e "$root/usr/bin/rtbench" ] || fail "dpkg -r left /usr/bin/rtbench behind"
step "dpkg -r removed it cleanly"

# --- 3. the .rpm
step "rpm -qlp $rpm"
rpm -qlp "$rpm" | tee "$work/rpm-files.txt"
for f in "${files[@]}" /usr/share/zsh/site-functions/_rtbench; do
  grep -qx "$f" "$work/rpm-files.txt" || fail "the .rpm does not install $f"
done
rpmroot="$work/rpmroot"
rm -rf "$rpmroot" && mkdir -p "$rpmroot"
rpm2archive - <"$rpm" | tar -xz -C "$rpmroot"
"$rpmroot/usr/bin/rtbench" version | grep -q "^commit  *$commit\$" || fail "the .rpm's rtbench does not run or name commit $commit"
step "the .rpm has every file and its rtbench runs"

# --- 4. a plain `go build` in this checkout names the commit in `rtbench version`
# (from Go's VCS stamping; -buildvcs=true because a machine's GOFLAGS may turn it off).
# Go stamps only when .git is a directory: not in a `git worktree` checkout.
if [ -d .git ]; then
  go build -buildvcs=true -o "$work/rtbench-vcs" .
  step "\$ rtbench version   (go build -buildvcs=true, no -ldflags)"
  "$work/rtbench-vcs" version | tee "$work/vcs-version.txt"
  grep -Eq "^commit  *$(git rev-parse --short=12 HEAD)(-dirty)?\$" "$work/vcs-version.txt" ||
    fail "rtbench version from go build does not name commit $(git rev-parse --short=12 HEAD)"
  grep -Eq '^built  *[0-9]{4}-[0-9]{2}-[0-9]{2}T' "$work/vcs-version.txt" || fail "rtbench version from go build has no build date"
else
  step "skipped the go build stamping check: .git is not a directory (a git worktree), which Go does not stamp from"
fi

# --- 5. linux/arm64 under qemu against the amd64 server
arm=$(find dist -path 'dist/rtbench_linux_arm64*/rtbench' -type f | head -n 1)
amd=$(find dist -path 'dist/rtbench_linux_amd64*/rtbench' -type f | head -n 1)
step "\$ qemu-aarch64-static $arm version"
qemu-aarch64-static "$arm" version | tee "$work/arm64-version.txt"
grep -q '^platform  *linux/arm64$' "$work/arm64-version.txt" || fail "the arm64 binary does not report linux/arm64"
"$amd" serve --addr 127.0.0.1:0 --shutdown-timeout 2s 2>"$work/serve.log" &
serve_pid=$!
trap 'kill "$serve_pid" 2>/dev/null || true' EXIT
addr=
for _ in $(seq 100); do # up to 10 s for the server to say where it listens
  addr=$(sed -n 's|.*listening on http://\(127\.0\.0\.1:[0-9]*\).*|\1|p' "$work/serve.log")
  [ -n "$addr" ] && break
  kill -0 "$serve_pid" 2>/dev/null || { cat "$work/serve.log"; fail "rtbench serve exited"; }
  sleep 0.1
done
[ -n "$addr" ] || fail "rtbench serve did not start: $(cat "$work/serve.log")"
step "amd64 rtbench serve on $addr; arm64 rtbench listen (SSE, then WebSocket), 5 events each, 20 s at most"
for url in "http://$addr/sse?rate=20" "ws://$addr/ws?rate=20"; do
  qemu-aarch64-static "$arm" listen "$url" -n 5 --timeout 20s --json >"$work/listen.json" 2>"$work/listen.err" ||
    { cat "$work/listen.err"; fail "arm64 rtbench listen $url exited $?"; }
  got=$(grep -c '^{' "$work/listen.json" || true)
  echo "  $url: $got events; $(tail -n 1 "$work/listen.err")"
  [ "$got" -eq 5 ] || fail "arm64 rtbench listen $url printed $got events, want 5"
done
kill -TERM "$serve_pid"
wait "$serve_pid" || fail "rtbench serve did not shut down cleanly: $(cat "$work/serve.log")"
trap - EXIT
step "OK: $n targets built; .deb installed and tried; .rpm inspected; linux/arm64 ran under qemu"
